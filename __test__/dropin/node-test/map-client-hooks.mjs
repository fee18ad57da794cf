// The resolve hook registered by ./map-client.mjs.

let target

export function initialize(data) {
  target = data
}

export function resolve(specifier, context, next) {
  if (specifier === '@chittyos/chittyid-client') return { url: target, shortCircuit: true }
  return next(specifier, context)
}

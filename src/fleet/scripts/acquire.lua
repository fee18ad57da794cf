-- One request's slot from the fleet's shared rate budget, atomically.
-- KEYS[1]: the token bucket (hash: t = tokens, at = ms of the last update)
-- KEYS[2]: the fleet's rate-limit pause (exists while the service said 429)
-- ARGV[1]: tokens per second; ARGV[2]: burst; ARGV[3]: longest wait the caller accepts (ms);
-- ARGV[4]: requests the caller's instance promised while it paced itself without Redis (taken
-- with this one, so the fleet does not hand their slots out again; 0 usually)
-- Returns {kind, ms}: {0, wait} a slot reserved `wait` ms from now; {1, pttl} the fleet is
-- paused for `pttl` ms (nothing reserved); {2, wait} the next slot is further away than the
-- caller can wait (nothing reserved).
local pause = redis.call('PTTL', KEYS[2])
if pause > 0 then
  return {1, pause}
end
local per_ms = tonumber(ARGV[1]) / 1000
local burst = tonumber(ARGV[2])
local max_wait = tonumber(ARGV[3])
local debt = tonumber(ARGV[4]) or 0
-- The server's clock, so every instance shares one timeline.
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local state = redis.call('HMGET', KEYS[1], 't', 'at')
local tokens = tonumber(state[1])
local at = tonumber(state[2])
if tokens == nil or at == nil then
  tokens = burst
  at = now
end
if now > at then
  tokens = math.min(burst, tokens + (now - at) * per_ms)
  at = now
end
local function save(left)
  redis.call('HSET', KEYS[1], 't', tostring(left), 'at', tostring(at))
  redis.call('PEXPIRE', KEYS[1], math.ceil((burst - left) / per_ms) + 1000)
end
-- The debt is taken whatever becomes of this request.
tokens = tokens - debt
-- A reservation: tokens may go negative; the caller waits until its slot comes.
local wait = 0
if tokens - 1 < 0 then
  wait = math.ceil(-(tokens - 1) / per_ms)
end
if wait > max_wait then
  if debt > 0 then
    save(tokens)
  end
  return {2, wait}
end
save(tokens - 1)
return {0, wait}

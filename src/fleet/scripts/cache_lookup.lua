-- The shared validation cache on a local miss, with fleet-wide coalescing.
-- KEYS[1]: the cached verdict ('1' valid, '0' not valid); KEYS[2]: the lock of whoever asks
-- the service for it. ARGV[1]: this instance's lock token; ARGV[2]: lock length (ms).
-- Returns {verdict, pttl} on a hit; {nil, -1}: the caller took the lock and asks the service;
-- {nil, -2}: another instance is asking right now.
local verdict = redis.call('GET', KEYS[1])
if verdict then
  return {verdict, redis.call('PTTL', KEYS[1])}
end
if redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return {false, -1}
end
return {false, -2}

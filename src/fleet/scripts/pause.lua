-- Publishes a rate-limit pause to the fleet: it may grow, never shrink.
-- KEYS[1]: the pause key; ARGV[1]: pause length (ms). Returns 1 when it changed the pause.
local ms = tonumber(ARGV[1])
if redis.call('PTTL', KEYS[1]) < ms then
  redis.call('SET', KEYS[1], '1', 'PX', ms)
  return 1
end
return 0

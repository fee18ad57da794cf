-- What an instance refreshes in the background while it makes calls: the breaker hint, the
-- pause, and how many instances are active (for its fair share while Redis is unreachable).
-- KEYS[1]: the breaker hint; KEYS[2]: the pause; KEYS[3]: active instances (sorted set by
-- last refresh, ms). ARGV[1]: this instance; ARGV[2]: how long an instance counts as active (ms).
-- Returns {hint or nil, pause pttl, active instances}.
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local active_ms = tonumber(ARGV[2])
redis.call('ZADD', KEYS[3], now, ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now - active_ms)
redis.call('PEXPIRE', KEYS[3], active_ms)
return {redis.call('GET', KEYS[1]), redis.call('PTTL', KEYS[2]), redis.call('ZCARD', KEYS[3])}

-- What an instance refreshes in the background: the breaker hint and the pause.
-- KEYS[1]: the breaker hint; KEYS[2]: the pause. Returns {hint or nil, pause pttl}.
return {redis.call('GET', KEYS[1]), redis.call('PTTL', KEYS[2])}

-- Gives tokens back to the fleet's bucket: slots reserved by calls that stopped waiting for them
-- (aborted, or their client closed). Only into a bucket that still exists (a new one starts
-- full); the next reservation caps the tokens at the burst.
-- KEYS[1]: the token bucket; ARGV[1]: how many tokens. Returns 1.
if redis.call('HEXISTS', KEYS[1], 't') == 1 then
  redis.call('HINCRBYFLOAT', KEYS[1], 't', tonumber(ARGV[1]))
end
return 1

-- Stores the service's verdict (unless ARGV[1] is empty) and releases the caller's lock.
-- KEYS[1]: the verdict; KEYS[2]: the lock. ARGV[1]: '1', '0' or ''; ARGV[2]: TTL (ms);
-- ARGV[3]: the caller's lock token ('' when it held none).
if ARGV[1] ~= '' then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
end
if ARGV[3] ~= '' and redis.call('GET', KEYS[2]) == ARGV[3] then
  redis.call('DEL', KEYS[2])
end
return 1

-- The link's health check, after PING and loading the scripts: proves that this connection may
-- run the fleet's scripts on its keys and write there. A Redis that answers PING but refuses the
-- fleet's work (an ACL user without EVALSHA or without these keys, a read-only replica, a
-- Redis out of memory under `noeviction`) is not "up": the link stays local-only instead of
-- flapping between degraded and restored.
-- KEYS[1]: the probe key (`<keyPrefix>:<origin hash>[:k...]:probe`). Returns 1.
redis.call('SET', KEYS[1], '1', 'PX', 1000)
return 1

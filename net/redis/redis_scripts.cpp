#include "redis/redis_scripts.hpp"

namespace switchboard::net {

namespace {

// Shared by every script: KEYS[1] is the meta hash, KEYS[2] the stream.
constexpr const char* prelude = R"lua(
local meta, stream = KEYS[1], KEYS[2]

local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

local function offset_of(id)
  return tonumber(string.match(id, '^(%d+)'))
end

local function id(offset)
  return string.format('%.0f', offset)
end

-- The epoch and last offset; a new epoch (and no stream of an older one)
-- when the meta key is gone.
local function ensure(new_epoch, meta_ttl)
  local m = redis.call('HMGET', meta, 'epoch', 'top')
  if m[1] then
    return m[1], tonumber(m[2])
  end
  redis.call('DEL', stream)
  redis.call('HSET', meta, 'epoch', new_epoch, 'top', 0)
  redis.call('PEXPIRE', meta, meta_ttl)
  return new_epoch, 0
end

-- Drops the messages older than ttl_ms (entries are in time order, so
-- they are at the front); answers the first offset still kept, or nil.
local function trim(ttl_ms)
  local cutoff = now_ms() - ttl_ms
  while true do
    local batch = redis.call('XRANGE', stream, '-', '+', 'COUNT', 64)
    if #batch == 0 then
      return nil
    end
    for i, e in ipairs(batch) do
      if tonumber(e[2][2]) > cutoff then
        if i > 1 then
          redis.call('XTRIM', stream, 'MINID', e[1])
        end
        return offset_of(e[1])
      end
    end
    redis.call('XTRIM', stream, 'MINID', id(offset_of(batch[#batch][1]) + 1))
  end
end

local function add_entries(out, entries)
  for _, e in ipairs(entries) do
    out[#out + 1] = offset_of(e[1])
    out[#out + 1] = e[2][4]
  end
  return out
end
)lua";

constexpr const char* append_body = R"lua(
local epoch = ensure(ARGV[5], ARGV[4])
local top = redis.call('HINCRBY', meta, 'top', 1)
redis.call('XADD', stream, 'MAXLEN', ARGV[2], id(top) .. '-0', 't', now_ms(), 'd', ARGV[1])
redis.call('PEXPIRE', stream, ARGV[3])
redis.call('PEXPIRE', meta, ARGV[4])
return {epoch, top}
)lua";

constexpr const char* top_body = R"lua(
local epoch, top = ensure(ARGV[2], ARGV[1])
return {epoch, top}
)lua";

// All or none: recovered only if `since` names this epoch and every
// message after it is still kept, at most `max` of them.
constexpr const char* recover_body = R"lua(
local epoch, top = ensure(ARGV[6], ARGV[5])
local since, max = tonumber(ARGV[2]), tonumber(ARGV[3])
local first = trim(tonumber(ARGV[4])) or (top + 1)
if ARGV[1] ~= epoch or since > top or since + 1 < first or top - since > max then
  return {epoch, top, 0}
end
if since == top then
  return {epoch, top, 1}
end
return add_entries({epoch, top, 1}, redis.call('XRANGE', stream, id(since + 1), '+'))
)lua";

// The last `limit` kept, or the first `limit` after `since` (from the
// oldest kept when its epoch is not the current one). Creates nothing.
constexpr const char* read_body = R"lua(
local m = redis.call('HMGET', meta, 'epoch', 'top')
if not m[1] then
  return {'', 0}
end
local epoch, top = m[1], tonumber(m[2])
local limit = tonumber(ARGV[1])
local first = trim(tonumber(ARGV[5])) or (top + 1)
local out = {epoch, top}
if limit == 0 then
  return out
end
if ARGV[2] == '1' then
  local after = first
  if ARGV[3] == epoch then
    after = math.max(tonumber(ARGV[4]) + 1, first)
  end
  return add_entries(out, redis.call('XRANGE', stream, id(after), '+', 'COUNT', limit))
end
local last = redis.call('XREVRANGE', stream, '+', '-', 'COUNT', limit)
local entries = {}
for i = #last, 1, -1 do
  entries[#entries + 1] = last[i]
end
return add_entries(out, entries)
)lua";

constexpr const char* remove_body = R"lua(
redis.call('DEL', stream, meta)
redis.call('HSET', meta, 'epoch', ARGV[2], 'top', 0)
redis.call('PEXPIRE', meta, ARGV[1])
return {ARGV[2], 0}
)lua";

std::string script(const char* body) {
  return std::string{prelude} + body;
}

} // namespace

redis_scripts::redis_scripts()
  : append(script(append_body)),
    top(script(top_body)),
    recover(script(recover_body)),
    read(script(read_body)),
    remove(script(remove_body)) {
}

std::vector<const redis_script*> redis_scripts::all() const {
  return {&append, &top, &recover, &read, &remove};
}

} // namespace switchboard::net

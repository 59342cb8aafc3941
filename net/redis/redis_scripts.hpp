#pragma once

// The Lua scripts of the Redis history store, one per request of the store
// contract (switchboard/history_store.hpp). Each runs atomically in Redis,
// so the numbering of a topic's messages is one sequence whichever node
// appends. Internal to net/.
//
// Keys (no hash tags: topics are sharded over independent servers by the
// node, never by Redis Cluster, so a topic's two keys are always on one):
//   <prefix>meta:<topic>    hash {epoch, top}: the epoch and the last offset
//   <prefix>stream:<topic>  stream of entries {t: stored at (ms), d: data},
//                           entry id <offset>-0, capped at history-size
// The stream expires history-ttl after the last append; the meta key
// a day after it (or history-ttl, if longer), so that a client that is
// up to date on a quiet topic still recovers. A meta key that is gone
// (expired, evicted, Redis restarted without persistence) means a new
// epoch: a client's position then names an old one and recovery answers
// recovered:false, never a wrong replay.

#include "redis/redis_connection.hpp"

namespace switchboard::net {

struct redis_scripts {
  redis_scripts();

  /// ARGV data, size, ttl_ms, meta_ttl_ms, new_epoch -> {epoch, offset}
  redis_script append;
  /// ARGV meta_ttl_ms, new_epoch -> {epoch, top}
  redis_script top;
  /// ARGV since_epoch, since_offset, max, ttl_ms, meta_ttl_ms, new_epoch
  /// -> {epoch, top, recovered (0|1), offset, data, offset, data ...}
  redis_script recover;
  /// ARGV limit, has_since (0|1), since_epoch, since_offset, ttl_ms
  /// -> {epoch, top, offset, data ...} ({"", 0} without a history)
  redis_script read;
  /// ARGV meta_ttl_ms, new_epoch -> {epoch, 0}
  redis_script remove;

  /// Every script, for SCRIPT LOAD on each connection.
  std::vector<const redis_script*> all() const;
};

} // namespace switchboard::net

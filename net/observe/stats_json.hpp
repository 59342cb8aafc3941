#pragma once

// The body of GET /stats: the hub's statistics and the node's rejections,
// as one JSON object.

#include "admission/admission_table.hpp"
#include "switchboard/messages.hpp"
#include "tls/tls_metrics.hpp"

#include <cstdint>
#include <map>
#include <string>

namespace switchboard::net {

class redis_shards;

/// The `rejections` object: the node's own counters (upgrade_rejections and
/// connection_rejections: all of them, zero or not) plus `extra` (reasons
/// counted elsewhere, such as the hub's); a reason in both adds up.
std::map<std::string, std::uint64_t>
merge_rejections(const rejection_counts& node,
                 const std::map<std::string, std::uint64_t>& extra = {});

/// `{"connections":..,"topics":..,"messages_in":..,"messages_out":..,
/// "disconnects":{..},"rejections":{..}}` and a newline; with `tls` (a TLS
/// node's) a "tls" object too (tls_stats_json), with `redis` (a node with
/// --redis) a "redis" object (redis_stats_json).
std::string stats_json(const hub_stats& hub, const rejection_counts& rejections,
                       const tls_snapshot* tls = nullptr, const redis_shards* redis = nullptr);

} // namespace switchboard::net

#pragma once

// The cluster port over mutual TLS with CAF's own OpenSSL module
// (libcaf_openssl): which middleman actor publishes the cluster actor and
// dials the peers, and the check that the module is loaded with the node's
// files and that CAF can load them. Internal to net/ (docs/cluster.md,
// "Cluster TLS").

#include "switchboard/node.hpp"

#include <caf/all.hpp>
#include <caf/io/middleman_actor.hpp>

#include <spdlog/fwd.h>

#include <cstdint>
#include <memory>
#include <string>

namespace switchboard::net {

/// Whether `cfg` asks for cluster TLS: it names all three files
/// (node_config::problems() refuses one or two).
bool cluster_tls(const node_config& cfg);

/// none when CAF's OpenSSL module is loaded with exactly cfg's cluster
/// certificate, key and CA (and no openssl.capath), and the files load the
/// way CAF loads them for every connection (otherwise every connection
/// would be refused); else what is wrong, naming the option and the file.
caf::error check_cluster_tls(caf::actor_system& sys, const node_config& cfg);

/// Loads the cluster certificate chain, key (checking that it is the
/// certificate's) and CA bundle the way CAF's OpenSSL module does for every
/// connection; none, or what is wrong, naming the option and the file.
/// check_cluster_tls() and node_file_problems() (--check-config) use it.
caf::error load_cluster_tls_files(const std::string& cert, const std::string& key,
                                  const std::string& ca, std::string passphrase);

/// The middleman actor the cluster actor is published and dials through:
/// with `tls` a new one of cluster TLS (cluster_tls_transport.cpp), which
/// ends when `cluster` terminates; CAF's plain one otherwise.
caf::io::middleman_actor cluster_middleman(caf::actor_system& sys, const caf::actor& cluster,
                                           bool tls, std::shared_ptr<spdlog::logger> log);

/// Publishes `cluster` on host:port (with SO_REUSEADDR) through `mm`.
caf::expected<std::uint16_t> publish_cluster(caf::actor_system& sys,
                                             const caf::io::middleman_actor& mm,
                                             const caf::actor& cluster, std::uint16_t port,
                                             const std::string& host);

/// CAF's OpenSSL middleman actor with the OpenSSL error queue emptied
/// before every call into a session and failures logged (what and why:
/// cluster_tls_transport.cpp). Needs caf::openssl::manager loaded; it ends
/// when killed.
caf::io::middleman_actor spawn_cluster_tls_middleman(caf::actor_system& sys,
                                                     std::shared_ptr<spdlog::logger> log);

} // namespace switchboard::net

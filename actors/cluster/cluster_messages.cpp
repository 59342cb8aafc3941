#include "cluster/cluster_messages.hpp"

namespace switchboard {

void add_cluster_message_types(caf::actor_system_config& cfg) {
  cfg.add_message_type<cluster_item>("switchboard::cluster_item");
  cfg.add_message_type<cluster_attach>("switchboard::cluster_attach");
  cfg.add_message_type<cluster_delivery>("switchboard::cluster_delivery");
  cfg.add_message_type<cluster_hello>("switchboard::cluster_hello");
  cfg.add_message_type<cluster_batch>("switchboard::cluster_batch");
  cfg.add_message_type<cluster_ack>("switchboard::cluster_ack");
  cfg.add_message_type<cluster_report>("switchboard::cluster_report");
  cfg.add_message_type<query_cluster>("switchboard::query_cluster");
  cfg.add_message_type<query_peers>("switchboard::query_peers");
  cfg.add_message_type<peer_info>("switchboard::peer_info");
  cfg.add_message_type<cluster_info>("switchboard::cluster_info");
  cfg.add_message_type<presence_part>("switchboard::presence_part");
  cfg.add_message_type<presence_part_query>("switchboard::presence_part_query");
  cfg.add_message_type<cluster_presence_query>("switchboard::cluster_presence_query");
  cfg.add_message_type<cluster_presence_parts>("switchboard::cluster_presence_parts");
}

} // namespace switchboard

// Presence in a cluster (docs/cluster.md, "Presence"): a clustered hub
// answers `presence`, `presence_stats`, query_presence and
// query_presence_stats for every node. It asks its cluster actor for the
// other nodes' parts (which waits for them a bounded time) and merges them
// with its own, taken when the parts arrive: the answer says how many nodes
// it covers and whether a member did not answer in time (partial).

#include "hub/hub_state.hpp"

#include "protocol.hpp"

#include <unordered_set>

namespace switchboard {

namespace {

// The cluster actor answers within its own timeout; this one only guards
// against a cluster actor that cannot answer at all.
constexpr auto across_timeout = std::chrono::seconds(3);

// What a cluster actor that did not answer gives: nobody else, partial.
cluster_presence_parts none_answered() {
  cluster_presence_parts parts;
  parts.asked = 1;
  return parts;
}

template <class Answer>
void mark_nodes(Answer& answer, const cluster_presence_parts& parts) {
  answer.nodes = 1 + parts.parts.size();
  answer.partial = parts.parts.size() < parts.asked;
}

presence_info merged_list(hub_state& st, const std::string& topic,
                          cluster_presence_parts& parts) {
  auto answer = presence_list(st, topic);
  mark_nodes(answer, parts);
  for (auto& part : parts.parts) {
    answer.truncated = answer.truncated || part.truncated;
    for (auto& c : part.clients) {
      if (answer.clients.size() == max_presence_listed) {
        answer.truncated = true;
        break;
      }
      answer.clients.push_back(std::move(c));
    }
  }
  return answer;
}

presence_counts merged_counts(hub_state& st, const std::string& topic,
                              cluster_presence_parts& parts) {
  // Distinct users across nodes: a user connected to two nodes is one.
  std::vector<std::string> local_users;
  auto answer = presence_count(st, topic, &local_users);
  mark_nodes(answer, parts);
  std::unordered_set<std::string> users(local_users.begin(), local_users.end());
  for (auto& part : parts.parts) {
    answer.clients += part.count;
    users.insert(part.users.begin(), part.users.end());
  }
  answer.users = users.size();
  return answer;
}

// Asks the cluster actor for the other nodes' parts; `done` gets them (or,
// when it does not answer, none and partial).
template <class Done>
void ask_cluster(hub_pointer self, const std::string& topic, bool stats, Done done) {
  self->request(self->state.cluster, across_timeout, cluster_presence_query{topic, stats})
    .then([done](cluster_presence_parts& parts) mutable { done(parts); },
          [done](caf::error&) mutable {
            auto parts = none_answered();
            done(parts);
          });
}

} // namespace

void presence_across(hub_pointer self, hub_connection& conn, const client_presence& cmd) {
  ask_cluster(self, cmd.topic, cmd.stats,
              [self, id = conn.id, cmd](cluster_presence_parts& parts) {
                auto& st = self->state;
                auto i = st.connections.find(id);
                if (i == st.connections.end())
                  return; // it left meanwhile
                auto quoted = protocol::quote(cmd.topic);
                auto frame =
                  cmd.stats
                    ? protocol::presence_stats(quoted, merged_counts(st, cmd.topic, parts),
                                               cmd.id)
                    : protocol::presence(quoted, merged_list(st, cmd.topic, parts), cmd.id);
                enqueue(self, i->second, share(frame));
              });
}

caf::result<presence_info> presence_list_across(hub_pointer self, const std::string& topic) {
  auto rp = self->make_response_promise<presence_info>();
  ask_cluster(self, topic, false, [self, rp, topic](cluster_presence_parts& parts) mutable {
    rp.deliver(merged_list(self->state, topic, parts));
  });
  return rp;
}

caf::result<presence_counts> presence_count_across(hub_pointer self,
                                                   const std::string& topic) {
  auto rp = self->make_response_promise<presence_counts>();
  ask_cluster(self, topic, true, [self, rp, topic](cluster_presence_parts& parts) mutable {
    rp.deliver(merged_counts(self->state, topic, parts));
  });
  return rp;
}

} // namespace switchboard

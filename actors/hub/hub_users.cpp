// Users in the hub: every connection of an authenticated user (the `user` its
// authenticator's upgrade_verdict named) is reachable by that name. The index
// is intrusive: the map holds the first connection of each user, and each
// connection links to the user's others, so a join and a leave cost O(1)
// and no allocation beyond the map's node for a user's first connection.

#include "hub/hub_state.hpp"

#include "protocol.hpp"

namespace switchboard {

void index_user(hub_state& st, hub_connection& conn) {
  if (conn.user.empty())
    return;
  auto [i, added] = st.users.try_emplace(conn.user, &conn);
  if (added)
    return;
  conn.user_next = i->second;
  i->second->user_prev = &conn;
  i->second = &conn;
}

void unindex_user(hub_state& st, hub_connection& conn) {
  if (conn.user.empty())
    return;
  if (conn.user_prev != nullptr) {
    conn.user_prev->user_next = conn.user_next;
  } else if (auto i = st.users.find(conn.user); i != st.users.end()) {
    if (conn.user_next != nullptr)
      i->second = conn.user_next;
    else
      st.users.erase(i);
  }
  if (conn.user_next != nullptr)
    conn.user_next->user_prev = conn.user_prev;
  conn.user_prev = nullptr;
  conn.user_next = nullptr;
}

hub_connection* first_of_user(hub_state& st, const std::string& user) {
  auto i = st.users.find(user);
  return i == st.users.end() ? nullptr : i->second;
}

std::uint64_t enqueue_to_user(hub_pointer self, const std::string& user,
                              const frame_ptr& frame) {
  std::uint64_t n = 0;
  for (auto c = first_of_user(self->state, user); c != nullptr; c = c->user_next, ++n)
    enqueue(self, *c, frame);
  return n;
}

caf::result<std::uint64_t> send_to_user_request(hub_pointer self, const send_to_user& cmd) {
  if (!protocol::valid_user(cmd.user))
    return make_error(hub_errc::invalid_argument);
  if (!protocol::valid_json(cmd.data))
    return make_error(hub_errc::invalid_data);
  auto& st = self->state;
  if (st.shutting_down)
    return make_error(hub_errc::shutting_down);
  ++st.stats.messages_in;
  // The user may have connections on other nodes too (the reply counts this
  // node's).
  to_cluster(self, {cluster_item::user_send, cmd.user, cmd.data, 0, 0, cmd.from, 0});
  if (first_of_user(st, cmd.user) == nullptr)
    return std::uint64_t{0};
  return enqueue_to_user(self, cmd.user,
                         protocol::make_frame(direct_frame(0, cmd.from, cmd.data)));
}

} // namespace switchboard

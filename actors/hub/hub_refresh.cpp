// A client's refresh of its credentials (`{"type":"refresh","token":T}`):
// the hub puts the token to the node's authenticator as at the upgrade, and
// on a verdict for the same user takes the new credentials: their expiry
// (the reader moves its deadline with the reply) and their topics, which
// replace the connection's (subscriptions they no longer allow end). The
// connection stays whatever the answer; its later commands wait for it, so
// that they run under the credentials the client meant.

#include "hub/hub_state.hpp"

#include "protocol.hpp"

#include <memory>
#include <utility>

namespace switchboard {

namespace {

void reply_error(hub_pointer self, hub_connection& conn, const char* code,
                 std::string_view reason, const request_id& id) {
  enqueue(self, conn, protocol::make_frame(protocol::error(code, reason, id)));
}

// The address of "address:port" or "[v6-address]:port" (transport::peer),
// as an upgrade_request names it.
std::string address_of(const std::string& peer) {
  auto colon = peer.rfind(':');
  if (colon == std::string::npos)
    return peer;
  auto host = peer.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    return host.substr(1, host.size() - 2);
  return host;
}

// Ends the subscriptions `allowed` no longer covers, telling the client.
void drop_disallowed(hub_pointer self, hub_connection& conn) {
  if (!conn.allowed.restricted())
    return;
  std::vector<std::string> dropped;
  for (auto s = conn.topics.head; s != nullptr; s = s->next)
    if (!conn.allowed.allows(*s->topic->name))
      dropped.push_back(*s->topic->name);
  for (auto& topic : dropped) {
    self->state.topics.unsubscribe(conn, conn.topics, topic);
    enqueue(self, conn, protocol::make_frame(protocol::unsubscribed(protocol::quote(topic), {})));
  }
}

// What the connection gets for the authenticator's answer (none: it did
// not answer in time, or failed).
refresh_result judge(hub_pointer self, hub_connection& conn,
                     const caf::optional<upgrade_verdict>& verdict, const request_id& id) {
  if (!verdict) {
    reply_error(self, conn, "unavailable", "authentication unavailable, try again", id);
    return {};
  }
  if (!verdict->allow) {
    reply_error(self, conn, "bad_token",
                verdict->reason.empty() ? "invalid token" : verdict->reason, id);
    return {};
  }
  if (verdict->user != conn.user) {
    ++self->state.stats.rejections["forbidden"];
    reply_error(self, conn, "forbidden", "the token is for another user", id);
    return {};
  }
  conn.allowed = topic_filter::of(verdict->topics);
  drop_disallowed(self, conn);
  enqueue(self, conn, protocol::make_frame(protocol::refreshed(verdict->expires, id)));
  return {true, verdict->expires};
}

void answered(hub_pointer self, conn_id id, const caf::optional<upgrade_verdict>& verdict,
              const request_id& rid, caf::response_promise& done) {
  auto& st = self->state;
  auto i = st.connections.find(id);
  if (i == st.connections.end()) {
    done.deliver(refresh_result{});
    return;
  }
  auto& conn = i->second;
  conn.authorizing = false;
  done.deliver(judge(self, conn, verdict, rid));
  resume(self, id);
}

} // namespace

void refresh(hub_pointer self, hub_connection& conn, client_refresh& cmd,
             caf::response_promise done) {
  auto& st = self->state;
  ++st.stats.messages_in;
  if (!st.settings.authenticator) {
    reply_error(self, conn, "not_enabled",
                "this node does not authenticate connections: nothing to refresh", cmd.id);
    done.deliver(refresh_result{});
    return;
  }
  upgrade_request question;
  question.headers.emplace_back("Authorization", "Bearer " + cmd.token);
  question.remote_address = address_of(conn.out.peer());
  question.refresh = conn.id;
  conn.authorizing = true;
  auto id = conn.id;
  auto pending = std::make_shared<std::pair<request_id, caf::response_promise>>(
    std::move(cmd.id), std::move(done));
  self->request(st.settings.authenticator, st.settings.authenticate_timeout, std::move(question))
    .then(
      [self, id, pending](upgrade_verdict& verdict) {
        answered(self, id, verdict, pending->first, pending->second);
      },
      [self, id, pending](caf::error&) {
        answered(self, id, caf::none, pending->first, pending->second);
      });
}

} // namespace switchboard

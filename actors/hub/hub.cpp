#include "hub/hub_state.hpp"

#include "protocol.hpp"
#include "switchboard/log_text.hpp"

#include <spdlog/logger.h>

#include <algorithm>

namespace switchboard {

hub_state::~hub_state() {
  auto reason = make_error(exit_code::hub_down);
  for (auto& kvp : connections) {
    // (Exit messages are not part of the typed interfaces.)
    caf::anon_send(caf::actor_cast<caf::actor>(kvp.second.reader),
                   caf::exit_msg{caf::actor_addr{}, reason});
    caf::anon_send(caf::actor_cast<caf::actor>(kvp.second.writer),
                   caf::exit_msg{caf::actor_addr{}, reason});
  }
  // Server-side actors serve this hub only: an application that forgot to
  // stop one would otherwise find its actor system's destructor waiting for
  // it for ever. One that should outlive the node traps exits.
  auto app_reason = make_error(shutting_down ? exit_code::shutdown : exit_code::hub_down);
  for (auto& kvp : app_actors)
    caf::anon_send(kvp.second.handle, caf::exit_msg{caf::actor_addr{}, app_reason});
}

frame_ptr share(std::string_view payload) {
  return protocol::make_frame(payload);
}

caf::error publish_refusal(const hub_state& st, std::string_view topic, std::string_view data) {
  // Server-side data goes into frames verbatim: it must be JSON.
  if (!protocol::valid_topic(topic))
    return make_error(hub_errc::invalid_topic);
  if (!protocol::valid_json(data))
    return make_error(hub_errc::invalid_data);
  if (st.shutting_down)
    return make_error(hub_errc::shutting_down);
  return caf::none;
}

namespace {

// -- connections ------------------------------------------------------------------

// A user id in a log line: quoted (it comes from a token or an application),
// "-" when anonymous.
std::string quoted_or_dash(const std::string& user) {
  return user.empty() ? std::string{"-"} : protocol::quote(user);
}

// The client's address in a log line, "-" when the transport cannot tell.
std::string remote_of(const hub_connection& conn) {
  auto peer = conn.out.peer();
  return peer.empty() ? std::string{"-"} : peer;
}

// One line per disconnect: a warning when the node dropped the client
// (it was too slow, silent or abusive), debug otherwise.
void log_disconnect(spdlog::logger* log, const hub_connection& conn, exit_code code) {
  if (log == nullptr)
    return;
  auto dropped = code == exit_code::slow_consumer || code == exit_code::heartbeat_timeout
                 || code == exit_code::rate_limited;
  auto level = dropped ? spdlog::level::warn : spdlog::level::debug;
  if (log->should_log(level))
    log->log(level, "disconnect conn={} user={} remote={} reason={}", conn.id,
             quoted_or_dash(conn.user), remote_of(conn), to_string(code));
}

void enroll(hub_pointer self, reader_actor reader, writer_actor writer,
            transport_ptr transport, std::string user, topic_filter allowed) {
  auto& st = self->state;
  auto id = st.ids.next();
  while (st.connections.count(id) != 0)
    id = st.ids.next();
  self->monitor(reader);
  self->monitor(writer);
  st.by_actor.emplace(reader.address(), id);
  st.by_actor.emplace(writer.address(), id);
  auto& conn = st.connections[id];
  conn.id = id;
  conn.reader = std::move(reader);
  conn.writer = std::move(writer);
  conn.out = outbound{std::move(transport), conn.writer};
  conn.user = std::move(user);
  conn.allowed = std::move(allowed);
  conn.joined = self->clock().now();
  index_user(st, conn);
  enqueue(self, conn, share(protocol::welcome(id, st.settings.ping_interval)));
  if (auto& log = st.settings.logger; log && log->should_log(spdlog::level::debug))
    log->debug("connect conn={} user={} remote={}", id, quoted_or_dash(conn.user),
               remote_of(conn));
  notify_observers(self, {connection_event::joined, id, conn.user, {}});
  if (st.shutting_down) {
    drain(self);
    farewell_to(self, conn, st.stop_farewell);
  }
}

void remove_connection(hub_pointer self, hub_connection& conn, const caf::error& reason) {
  auto& st = self->state;
  presence_left_all(self, conn); // leave events, before the topics forget it
  st.topics.unsubscribe_all(conn.topics);
  unindex_user(st, conn);
  if (conn.dirty) {
    auto i = std::find(st.dirty.begin(), st.dirty.end(), &conn);
    *i = st.dirty.back();
    st.dirty.pop_back();
  }
  forget_held(st, conn);
  auto code = exit_code_of(reason);
  ++st.stats.disconnects[to_string(code)];
  log_disconnect(st.settings.logger.get(), conn, code);
  // One exit for the pair: if only one of them is down, take the other along.
  self->send_exit(conn.reader, reason);
  self->send_exit(conn.writer, reason);
  // Commands that waited for an authorizer: their readers are gone.
  for (auto& w : conn.waiting)
    w.done.deliver(caf::unit);
  notify_observers(self, {connection_event::left, conn.id, conn.user, to_string(code)});
  st.connections.erase(conn.id);
}

// Once stopping, the hub lives until both actors of every pair are down, so
// that no actor still holds a socket when the node's I/O context goes away.
void quit_if_done(hub_pointer self) {
  auto& st = self->state;
  if (st.shutting_down && st.connections.empty() && st.by_actor.empty())
    self->quit();
}

void on_down(hub_pointer self, const caf::down_msg& dm) {
  auto& st = self->state;
  if (auto i = st.by_actor.find(dm.source); i != st.by_actor.end()) {
    auto id = i->second;
    st.by_actor.erase(i);
    if (auto j = st.connections.find(id); j != st.connections.end())
      remove_connection(self, j->second, dm.reason);
  } else {
    app_actor_down(self, dm.source);
  }
  quit_if_done(self);
}

void shutdown(hub_pointer self) {
  auto& st = self->state;
  st.shutting_down = true;
  st.draining.reset();
  drain(self); // queued frames go before the shutdown notice
  for (auto& kvp : st.connections)
    farewell_to(self, kvp.second, st.stop_farewell);
  quit_if_done(self);
}

caf::result<bool> close(hub_pointer self, const close_connection& cmd) {
  if (!valid_close(cmd.code, cmd.reason))
    return make_error(hub_errc::invalid_argument);
  auto& st = self->state;
  auto i = st.connections.find(cmd.conn);
  if (i == st.connections.end()) {
    // Another node's connection: that node closes it (true: forwarded).
    if (!remote_id(st, cmd.conn))
      return false;
    to_cluster(self, {cluster_item::close, {}, cmd.reason, 0, cmd.conn, {}, cmd.code});
    return true;
  }
  farewell_connection(self, i->second, cmd.code, cmd.reason);
  return true;
}

caf::result<std::uint64_t> close_user(hub_pointer self, const disconnect_user& cmd) {
  if (!protocol::valid_user(cmd.user) || !valid_close(cmd.code, cmd.reason))
    return make_error(hub_errc::invalid_argument);
  // The user may have connections on other nodes too (the reply counts
  // this node's).
  to_cluster(self, {cluster_item::user_disconnect, cmd.user, cmd.reason, 0, 0, {}, cmd.code});
  return farewell_user(self, cmd.user, cmd.code, cmd.reason);
}

// -- server-side publishes and sends -------------------------------------------------------

caf::result<std::uint64_t> publish_request(hub_pointer self, const publication& cmd) {
  if (auto err = publish_refusal(self->state, cmd.topic, cmd.data))
    return err;
  if (stores_async(self->state, cmd.topic))
    return publish_request_stored(self, cmd);
  return publish_on(self, cmd.topic, cmd.data, 0);
}

caf::result<delivery_counts> broadcast_request(hub_pointer self, const broadcast& cmd) {
  // All or nothing: every topic is checked before anything is published.
  if (cmd.topics.empty())
    return make_error(hub_errc::invalid_argument);
  for (auto& topic : cmd.topics)
    if (!protocol::valid_topic(topic))
      return make_error(hub_errc::invalid_topic);
  if (!protocol::valid_json(cmd.data))
    return make_error(hub_errc::invalid_data);
  if (self->state.shutting_down)
    return make_error(hub_errc::shutting_down);
  if (self->state.async)
    return broadcast_stored(self, cmd);
  delivery_counts result;
  for (auto& topic : cmd.topics)
    if (result.count(topic) == 0)
      result.emplace(topic, publish_on(self, topic, cmd.data, 0));
  return result;
}

caf::result<bool> send_request(hub_pointer self, const send_direct& cmd) {
  if (!protocol::valid_json(cmd.data))
    return make_error(hub_errc::invalid_data);
  auto& st = self->state;
  if (st.shutting_down)
    return make_error(hub_errc::shutting_down);
  ++st.stats.messages_in;
  auto target = st.connections.find(cmd.to);
  if (target == st.connections.end()) {
    // Another node's connection: that node delivers it (true: forwarded).
    if (!remote_id(st, cmd.to))
      return false;
    to_cluster(self, {cluster_item::direct, {}, cmd.data, 0, cmd.to, cmd.from, 0});
    return true;
  }
  enqueue(self, target->second, share(direct_frame(0, cmd.from, cmd.data)));
  return true;
}

hub_stats stats(hub_pointer self) {
  auto& st = self->state;
  auto result = st.stats;
  result.connections = st.connections.size();
  result.topics = st.topics.size();
  result.services = st.services.size();
  result.mailbox = self->mailbox().size();
  result.listeners = 0;
  for (auto& kvp : st.app_actors)
    if (!kvp.second.topics.empty())
      ++result.listeners;
  add_history_stats(self, result);
  return result;
}

template <class Result = void, class Command>
caf::result<Result> command(hub_pointer self, Command& cmd) {
  // The sender first: the response promise takes it from the message.
  auto conn = sender_of(self);
  auto done = self->make_response_promise();
  on_command(self, conn, std::move(cmd), done);
  return done;
}

} // namespace

// -- closing --------------------------------------------------------------------------------

// RFC 6455: the reason fits a control frame with the code, 123 bytes of UTF-8.
bool valid_close(std::uint16_t code, const std::string& reason) {
  return protocol::valid_close_code(code) && reason.size() <= 123
         && protocol::valid_utf8(reason);
}

void farewell_connection(hub_pointer self, hub_connection& conn, std::uint16_t code,
                         const std::string& reason) {
  // Frames collected so far go first; the writer flushes them, then exits.
  drain(self);
  farewell_to(self, conn, farewell{exit_code::disconnected, code, reason});
}

std::uint64_t farewell_user(hub_pointer self, const std::string& user, std::uint16_t code,
                            const std::string& reason) {
  std::uint64_t n = 0;
  for (auto c = first_of_user(self->state, user); c != nullptr; c = c->user_next, ++n)
    farewell_connection(self, *c, code, reason);
  return n;
}

// -- delivery (hub_delivery.cpp: drain, enqueue) ---------------------------------

std::uint64_t publish_on(hub_pointer self, const std::string& topic,
                         const std::string& data, conn_id from,
                         stream_position* numbered) {
  ++self->state.stats.messages_in;
  // The cluster actor forwards it to the nodes with subscribers on the topic
  // (an unclustered hub copies nothing).
  if (self->state.cluster)
    to_cluster(self, {cluster_item::publish, topic, data, from, 0, {}, 0});
  return publish_local(self, topic, data, from, numbered);
}

std::uint64_t publish_local(hub_pointer self, const std::string& topic,
                            const std::string& data, conn_id from,
                            stream_position* numbered) {
  auto& st = self->state;
  // Stored and numbered whether anyone listens or not: a client that
  // reconnects to an emptied topic still recovers (hub_history.cpp).
  auto pos = append_history(self, topic, data);
  if (numbered != nullptr)
    *numbered = pos;
  auto t = st.topics.find(topic);
  if (t == nullptr)
    return 0;
  return fan_out(self, *t, data, from, pos.offset, nullptr);
}

std::uint64_t fan_out(hub_pointer self, hub_topic& t, const std::string& data, conn_id from,
                      std::uint64_t offset, topic_sequence* seq) {
  if (!t.subscribers.empty()) {
    // Stamped once per publish: the I/O loops measure publish-to-write
    // latency from here (docs/operations.md).
    auto now = std::chrono::steady_clock::now();
    auto frame = offset == 0 ? protocol::message_frame(t.quoted, data, now)
                             : protocol::message_frame(t.quoted, offset, data, now);
    if (seq != nullptr && !seq->waiting.empty()) {
      // A subscription whose reply waits for the store gets it after that.
      for (auto s : t.subscribers)
        if (auto w = seq->waiting.find(s->conn->id); w != seq->waiting.end())
          hold_for(self, *s->conn, w->second, offset, frame);
        else
          enqueue(self, *s->conn, frame);
    } else {
      for (auto s : t.subscribers)
        enqueue(self, *s->conn, frame);
    }
  }
  auto receivers = t.subscribers.size() + t.listeners.size();
  if (!t.listeners.empty()) {
    auto msg = caf::make_message(topic_message{*t.name, data, from});
    // A delivery may drop a listener that fell behind, which edits the
    // vector: walk a copy.
    auto listeners = t.listeners;
    for (auto a : listeners)
      deliver(self, *a, msg);
  }
  return receivers;
}

// -- the behavior -----------------------------------------------------------------------

hub_internal_actor::behavior_type hub(hub_pointer self, hub_settings settings) {
  self->state.settings = std::move(settings);
  init_history(self);
  self->set_down_handler([self](caf::down_msg& dm) { on_down(self, dm); });
  // A message nobody expects (from a peer node, say) is logged and dropped:
  // it must never take the hub down (and the node with it).
  self->set_default_handler([self](caf::scheduled_actor*, caf::message_view& x) {
    if (auto& log = self->state.settings.logger)
      log->warn("hub: dropped an unexpected message {}", caf::to_string(x.content()));
    return caf::result<caf::message>{caf::make_error(caf::sec::unexpected_message)};
  });
  self->set_error_handler([self](caf::error& err) {
    if (auto& log = self->state.settings.logger)
      log->warn("hub: an error message error={}", log_value(describe_error(err)));
  });
  return {
    // -- the public interface
    [self](publication& cmd) { return publish_request(self, cmd); },
    [self](send_direct& cmd) { return send_request(self, cmd); },
    [self](add_listener& cmd) -> caf::result<bool> {
      if (!protocol::valid_topic(cmd.topic))
        return make_error(hub_errc::invalid_topic);
      return listen(self, cmd);
    },
    [self](remove_listener& cmd) { unlisten(self, cmd); },
    [self](add_service& cmd) { return register_service(self, cmd); },
    [self](remove_service& cmd) { unregister_service(self, cmd); },
    [self](add_observer& cmd) { observe(self, cmd.observer, true); },
    [self](remove_observer& cmd) { observe(self, cmd.observer, false); },
    [self](close_connection& cmd) { return close(self, cmd); },
    [self](set_authorizer& cmd) {
      auto& s = self->state.settings;
      s.authorizer = std::move(cmd.authorizer);
      s.authorize_timeout = cmd.timeout;
      s.authorize_default = cmd.default_allow;
    },
    [self](query_stats) { return stats(self); },
    // -- the server API's operations
    [self](broadcast& cmd) { return broadcast_request(self, cmd); },
    [self](send_to_user& cmd) { return send_to_user_request(self, cmd); },
    [self](disconnect_user& cmd) { return close_user(self, cmd); },
    [self](query_topics& q) { return list_topics(self, q); },
    [self](query_topic& q) { return describe_topic(self, q); },
    [self](query_connection& q) { return describe_connection(self, q); },
    [self](publish_numbered& cmd) { return publish_numbered_request(self, cmd); },
    [self](query_history& q) { return history_request(self, q); },
    [self](remove_history& cmd) { return remove_history_request(self, cmd); },
    [self](query_presence& q) { return presence_request(self, q); },
    [self](query_presence_stats& q) { return presence_stats_request(self, q); },
    // -- the internal interface
    [self](enroll_atom, reader_actor& r, writer_actor& w, transport_ptr& t,
           std::string& user, topic_filter& allowed) {
      enroll(self, std::move(r), std::move(w), std::move(t), std::move(user),
             std::move(allowed));
    },
    [self](client_subscribe& cmd) { return command(self, cmd); },
    [self](client_unsubscribe& cmd) { return command(self, cmd); },
    [self](client_publish& cmd) { return command(self, cmd); },
    [self](client_send& cmd) { return command(self, cmd); },
    [self](client_error& cmd) { return command(self, cmd); },
    [self](client_history& cmd) { return command(self, cmd); },
    [self](client_presence& cmd) { return command(self, cmd); },
    [self](expire_atom) { expire_history(self); },
    [self](client_refresh& cmd) { return command<refresh_result>(self, cmd); },
    [self](throttled_atom, std::uint64_t n) {
      self->state.stats.rejections["rate_limited"] += n;
    },
    [self](shutdown_atom) { shutdown(self); },
    [self](shutdown_atom, const stop_plan& plan) {
      if (begin_stop(self, plan))
        shutdown(self);
    },
    [self](stop_step_atom) {
      if (stop_step(self))
        shutdown(self);
    },
    [self](drain_atom) { drain(self); },
    [self](cluster_attach& msg) { attach_cluster(self, msg); },
    [self](cluster_delivery& msg) { on_cluster_delivery(self, msg); },
    [self](cluster_resume_atom) { resume_held(self); },
    [self](presence_part_query& q) { return presence_part_request(self, q); },
  };
}

hub_internal_actor spawn_hub(caf::actor_system& sys, hub_settings settings) {
  return sys.spawn(hub, std::move(settings));
}

} // namespace switchboard

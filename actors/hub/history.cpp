#include "hub/history.hpp"

#include <algorithm>
#include <cstdio>

namespace switchboard {

history_store::~history_store() = default;

namespace {

// Intrusive doubly linked lists over one pair of a record's link members.
template <class List, class Record>
void unlink(List& list, Record& r, Record* Record::*prev, Record* Record::*next) {
  if (r.*prev != nullptr)
    (r.*prev)->*next = r.*next;
  else
    list.head = r.*next;
  if (r.*next != nullptr)
    (r.*next)->*prev = r.*prev;
  else
    list.tail = r.*prev;
  r.*prev = r.*next = nullptr;
}

template <class List, class Record>
void push_back(List& list, Record& r, Record* Record::*prev, Record* Record::*next) {
  r.*prev = list.tail;
  r.*next = nullptr;
  if (list.tail != nullptr)
    list.tail->*next = &r;
  else
    list.head = &r;
  list.tail = &r;
}

// floor(log2(bytes)) + 1; 0 for no bytes.
int bucket_of(std::size_t bytes) {
  int b = 0;
  for (; bytes != 0; bytes >>= 1)
    ++b;
  return b;
}

std::size_t cost_of(const std::string& data) {
  return data.size() + memory_history::message_overhead;
}

} // namespace

memory_history::memory_history(std::size_t max_bytes, in_use_fn in_use)
  : max_bytes_(max_bytes), in_use_(std::move(in_use)) {
  // Epochs must differ across restarts: seed from the kernel, 128 bits.
  std::random_device dev;
  std::seed_seq seed{dev(), dev(), dev(), dev()};
  random_.seed(seed);
}

memory_history::~memory_history() = default;

// -- the interface ------------------------------------------------------------------------

stream_position memory_history::append(const std::string& topic, std::string_view data,
                                       const history_limits& lim, time_point now) {
  auto& r = ensure(topic, lim, now);
  trim(r, now);
  r.entries.push_back({++r.top, now, std::string{data}});
  auto cost = cost_of(r.entries.back().data);
  r.bytes += cost;
  bytes_ += cost;
  ++messages_;
  if (r.entries.size() > lim.size)
    pop_front(r);
  else
    rebucket(r);
  touch(r, now);
  // The position first: the byte bound may evict this very record.
  stream_position result{r.top, r.epoch};
  if (bytes_ > max_bytes_)
    evict();
  return result;
}

stream_position memory_history::top(const std::string& topic, const history_limits& lim,
                                    time_point now) {
  auto& r = ensure(topic, lim, now);
  return {r.top, r.epoch};
}

history_result memory_history::recover(const std::string& topic,
                                       const stream_position& since, std::size_t max,
                                       const history_limits& lim, time_point now) {
  auto& r = ensure(topic, lim, now);
  trim(r, now);
  history_result result;
  result.top = {r.top, r.epoch};
  // The first offset still kept (top + 1 when none is).
  auto first = r.top + 1 - r.entries.size();
  if (since.epoch != r.epoch || since.offset > r.top || since.offset + 1 < first
      || r.top - since.offset > max)
    return result;
  result.recovered = true;
  auto begin = r.entries.begin() + static_cast<std::ptrdiff_t>(since.offset + 1 - first);
  for (auto i = begin; i != r.entries.end(); ++i)
    result.messages.push_back({i->offset, i->data});
  return result;
}

history_result memory_history::read(const std::string& topic, std::size_t limit,
                                    const std::optional<stream_position>& since,
                                    const history_limits&, time_point now) {
  history_result result;
  auto r = find(topic);
  if (r == nullptr)
    return result;
  trim(*r, now);
  result.top = {r->top, r->epoch};
  auto& es = r->entries;
  auto first = r->top + 1 - es.size();
  std::size_t from = es.size() - std::min(limit, es.size()); // the last `limit`
  if (since) {
    auto after = since->epoch == r->epoch ? std::max(since->offset + 1, first) : first;
    from = static_cast<std::size_t>(std::min<std::uint64_t>(after - first, es.size()));
  }
  auto to = std::min(es.size(), from + limit);
  for (auto i = from; i < to; ++i)
    result.messages.push_back({es[i].offset, es[i].data});
  return result;
}

stream_position memory_history::remove(const std::string& topic, const history_limits& lim,
                                       time_point now) {
  if (auto r = find(topic))
    drop(*r);
  if (!in_use_(topic))
    return {};
  return top(topic, lim, now);
}

void memory_history::expire(time_point now) {
  for (auto& [ttl, list] : by_age_) {
    // Every message of a record is at most as old as its last append: a
    // record at the front whose last append outlived the TTL holds only
    // expired messages. The first one that did not ends the walk.
    while (list.head != nullptr && list.head->touched + ttl <= now) {
      auto& r = *list.head;
      clear(r);
      if (in_use_(*r.name))
        touch(r, now); // looked at again one TTL from now
      else
        drop(r);
    }
  }
}

history_totals memory_history::totals() const {
  return {records_.size(), messages_, bytes_, evicted_};
}

// -- records ------------------------------------------------------------------------------

memory_history::record& memory_history::ensure(const std::string& topic,
                                               const history_limits& lim, time_point now) {
  if (auto r = find(topic))
    return *r;
  auto [i, added] = records_.try_emplace(topic);
  auto& r = i->second;
  r.name = &i->first;
  r.epoch = new_epoch();
  r.ttl = lim.ttl;
  touch(r, now);
  return r;
}

memory_history::record* memory_history::find(const std::string& topic) {
  auto i = records_.find(topic);
  return i == records_.end() ? nullptr : &i->second;
}

void memory_history::trim(record& r, time_point now) {
  while (!r.entries.empty() && r.entries.front().stored + r.ttl <= now)
    pop_front(r);
}

void memory_history::pop_front(record& r) {
  auto cost = cost_of(r.entries.front().data);
  r.entries.pop_front();
  r.bytes -= cost;
  bytes_ -= cost;
  --messages_;
  rebucket(r);
}

void memory_history::clear(record& r) {
  while (!r.entries.empty())
    pop_front(r);
}

void memory_history::drop(record& r) {
  clear(r);
  unlink(by_age_[r.ttl], r, &record::age_prev, &record::age_next);
  records_.erase(records_.find(*r.name));
}

void memory_history::touch(record& r, time_point now) {
  auto& list = by_age_[r.ttl];
  if (list.tail != &r) {
    if (r.age_prev != nullptr || r.age_next != nullptr || list.head == &r)
      unlink(list, r, &record::age_prev, &record::age_next);
    push_back(list, r, &record::age_prev, &record::age_next);
  }
  r.touched = now;
}

void memory_history::rebucket(record& r) {
  auto b = bucket_of(r.bytes);
  if (b == r.bucket || (b == 0 && r.bucket < 0))
    return;
  if (r.bucket > 0)
    unlink(buckets_[static_cast<std::size_t>(r.bucket)], r, &record::size_prev,
           &record::size_next);
  r.bucket = b > 0 ? b : -1;
  if (b > 0)
    push_back(buckets_[static_cast<std::size_t>(b)], r, &record::size_prev,
              &record::size_next);
}

// Past the byte bound the oldest message of one of the largest histories
// goes, until the store fits. Each message is evicted at most once, so this
// costs O(1) per append over time. A record emptied this way is forgotten
// unless its topic is in use (its offsets then go on).
void memory_history::evict() {
  auto b = buckets_.size() - 1;
  while (bytes_ > max_bytes_) {
    while (b > 0 && buckets_[b].head == nullptr)
      --b;
    if (b == 0)
      return;
    auto& r = *buckets_[b].head;
    pop_front(r);
    ++evicted_;
    if (r.entries.empty() && !in_use_(*r.name))
      drop(r);
  }
}

std::string memory_history::new_epoch() {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(random_()));
  return buf;
}

} // namespace switchboard

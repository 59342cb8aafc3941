#include "ws/deflate.hpp"

#include "protocol.hpp"

#include <boost/beast/core/string.hpp>

#include <zlib.h>

#include <algorithm>
#include <memory>
#include <new>
#include <vector>

namespace switchboard::net {

namespace {

// -- parsing Sec-WebSocket-Extensions (RFC 6455 9.1, RFC 7230 3.2.6) ------------

struct param {
  std::string name;
  std::optional<std::string> value;
};

struct offer {
  std::string name;
  std::vector<param> params;
};

bool is_tchar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
    return true;
  return std::string_view{"!#$%&'*+-.^_`|~"}.find(c) != std::string_view::npos;
}

class offer_parser {
public:
  explicit offer_parser(std::string_view text) : s_(text) {
  }

  /// Every offer, or nullopt if the header does not parse.
  std::optional<std::vector<offer>> parse() {
    std::vector<offer> result;
    for (;;) {
      skip_space();
      if (at_end())
        return result;
      if (s_[i_] == ',') { // empty list elements are allowed (RFC 7230 7)
        ++i_;
        continue;
      }
      offer o;
      if (!token(o.name))
        return std::nullopt;
      skip_space();
      while (!at_end() && s_[i_] == ';') {
        ++i_;
        skip_space();
        param p;
        if (!token(p.name))
          return std::nullopt;
        skip_space();
        if (!at_end() && s_[i_] == '=') {
          ++i_;
          skip_space();
          std::string v;
          if (!(at_end() ? false : s_[i_] == '"' ? quoted(v) : token(v)))
            return std::nullopt;
          p.value = std::move(v);
          skip_space();
        }
        o.params.push_back(std::move(p));
      }
      if (!at_end() && s_[i_] != ',')
        return std::nullopt;
      result.push_back(std::move(o));
    }
  }

private:
  bool at_end() const {
    return i_ == s_.size();
  }

  void skip_space() {
    while (!at_end() && (s_[i_] == ' ' || s_[i_] == '\t'))
      ++i_;
  }

  bool token(std::string& out) {
    auto start = i_;
    while (!at_end() && is_tchar(s_[i_]))
      ++i_;
    out.assign(s_.substr(start, i_ - start));
    return i_ > start;
  }

  // A quoted-string, unquoted. RFC 6455 9.1: its content must be a token.
  bool quoted(std::string& out) {
    ++i_; // the opening quote
    while (!at_end() && s_[i_] != '"') {
      if (s_[i_] == '\\' && ++i_ == s_.size())
        return false;
      out += s_[i_++];
    }
    if (at_end())
      return false;
    ++i_; // the closing quote
    return !out.empty() && std::all_of(out.begin(), out.end(), is_tchar);
  }

  std::string_view s_;
  std::size_t i_ = 0;
};

// RFC 7692 7.1.2: a decimal 8-15, no leading zero.
std::optional<int> window_bits(const std::string& v) {
  if (v.empty() || v.size() > 2 || v[0] == '0'
      || !std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return std::nullopt;
  auto n = std::stoi(v);
  if (n < 8 || n > 15)
    return std::nullopt;
  return n;
}

// The response to one permessage-deflate offer, if it is acceptable.
std::optional<std::string> answer(const offer& o) {
  namespace beast = boost::beast;
  bool seen[4] = {};
  bool echo_window = false;
  for (auto& p : o.params) {
    int which;
    if (beast::iequals(p.name, "server_no_context_takeover")) {
      which = 0;
      if (p.value)
        return std::nullopt;
    } else if (beast::iequals(p.name, "client_no_context_takeover")) {
      which = 1;
      if (p.value)
        return std::nullopt;
    } else if (beast::iequals(p.name, "server_max_window_bits")) {
      which = 2;
      auto bits = p.value ? window_bits(*p.value) : std::nullopt;
      // Below 15 the shared frames (made with a 15-bit window) would not do.
      if (!bits || *bits != 15)
        return std::nullopt;
      echo_window = true;
    } else if (beast::iequals(p.name, "client_max_window_bits")) {
      which = 3;
      // With or without a value: the inflater's 15-bit window reads any.
      if (p.value && !window_bits(*p.value))
        return std::nullopt;
    } else {
      return std::nullopt;
    }
    if (seen[which])
      return std::nullopt;
    seen[which] = true;
  }
  // RFC 7692 7.1.1: the server may add both takeover parameters to any
  // agreement; the client has to honour them.
  std::string result = "permessage-deflate; server_no_context_takeover; "
                       "client_no_context_takeover";
  if (echo_window)
    result += "; server_max_window_bits=15";
  return result;
}

// -- zlib --------------------------------------------------------------------------

constexpr int window = 15;
constexpr unsigned char flush_tail[4] = {0x00, 0x00, 0xff, 0xff};

class deflater {
public:
  deflater() {
    if (deflateInit2(&z_, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -window, 8, Z_DEFAULT_STRATEGY)
        != Z_OK)
      throw std::bad_alloc{};
  }
  ~deflater() {
    deflateEnd(&z_);
  }
  deflater(const deflater&) = delete;
  deflater& operator=(const deflater&) = delete;

  void run(std::string_view in, std::string& out) {
    deflateReset(&z_); // server_no_context_takeover
    auto start = out.size();
    z_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    z_.avail_in = static_cast<uInt>(in.size());
    auto room = deflateBound(&z_, in.size()) + 16;
    for (;;) {
      auto used = out.size();
      out.resize(used + room);
      z_.next_out = reinterpret_cast<Bytef*>(out.data() + used);
      z_.avail_out = static_cast<uInt>(room);
      deflate(&z_, Z_SYNC_FLUSH);
      out.resize(out.size() - z_.avail_out);
      // Output that filled the room may have more to come.
      if (z_.avail_out > 0)
        break;
      room = 1024;
    }
    // RFC 7692 7.2.1: the empty stored block's 00 00 ff ff is not sent.
    if (out.size() - start >= 4
        && std::equal(flush_tail, flush_tail + 4,
                      reinterpret_cast<const unsigned char*>(out.data() + out.size() - 4)))
      out.resize(out.size() - 4);
  }

private:
  z_stream z_{};
};

class inflater {
public:
  inflater() {
    if (inflateInit2(&z_, -window) != Z_OK)
      throw std::bad_alloc{};
  }
  ~inflater() {
    inflateEnd(&z_);
  }
  inflater(const inflater&) = delete;
  inflater& operator=(const inflater&) = delete;

  inflate_result run(std::string_view in, std::size_t max_size, std::string& out) {
    inflateReset(&z_); // client_no_context_takeover
    ended_ = false;
    out.clear();
    // The message, then the tail the sender removed.
    auto r = feed(reinterpret_cast<const unsigned char*>(in.data()), in.size(), max_size, out);
    if (r == inflate_result::ok && !ended_)
      r = feed(flush_tail, 4, max_size, out);
    // A message ends with a complete block (RFC 7692 7.2.2): inflate
    // stopped at a block boundary (data_type 128) or after the final block.
    if (r == inflate_result::ok && !ended_ && (z_.data_type & 128) == 0)
      r = inflate_result::corrupt;
    if (r != inflate_result::ok)
      std::string{}.swap(out);
    return r;
  }

private:
  inflate_result feed(const unsigned char* p, std::size_t n, std::size_t max_size,
                      std::string& out) {
    if (ended_)
      return inflate_result::ok;
    z_.next_in = const_cast<Bytef*>(p);
    z_.avail_in = static_cast<uInt>(n);
    for (;;) {
      if (out.size() == max_size + 1)
        return inflate_result::too_big;
      // Room for one byte past the limit: producing it means too big.
      auto used = out.size();
      auto room = std::min({std::max<std::size_t>(used, n * 4 + 64), max_size + 1 - used,
                            std::size_t{1} << 30});
      out.resize(used + room);
      z_.next_out = reinterpret_cast<Bytef*>(out.data() + used);
      z_.avail_out = static_cast<uInt>(room);
      auto rc = inflate(&z_, Z_SYNC_FLUSH);
      out.resize(out.size() - z_.avail_out);
      if (rc == Z_STREAM_END) {
        // A final block (RFC 7692 7.2.3.4): what follows it is not data.
        ended_ = true;
        return out.size() > max_size ? inflate_result::too_big : inflate_result::ok;
      }
      if (rc != Z_OK && rc != Z_BUF_ERROR)
        return inflate_result::corrupt;
      if (out.size() > max_size)
        return inflate_result::too_big;
      // Done with this input when it is used up and inflate had room left.
      if (z_.avail_in == 0 && z_.avail_out > 0)
        return inflate_result::ok;
      if (rc == Z_BUF_ERROR && z_.avail_out > 0)
        return inflate_result::corrupt; // no progress with input and room: cannot happen
    }
  }

  z_stream z_{};
  bool ended_ = false; ///< the final block came
};

// One of each per I/O thread, made when a connection of the thread first
// needs it (docs/protocol.md, Compression: their memory).
deflater& thread_deflater() {
  thread_local deflater d;
  return d;
}

inflater& thread_inflater() {
  thread_local inflater i;
  return i;
}

} // namespace

std::optional<std::string> negotiate_deflate(std::string_view offers) {
  auto parsed = offer_parser{offers}.parse();
  if (!parsed)
    return std::nullopt;
  for (auto& o : *parsed)
    if (boost::beast::iequals(o.name, "permessage-deflate"))
      if (auto a = answer(o))
        return a;
  return std::nullopt;
}

std::optional<std::string> negotiate_deflate(const boost::beast::http::fields& request) {
  std::string offers;
  for (auto range = request.equal_range(boost::beast::http::field::sec_websocket_extensions);
       range.first != range.second; ++range.first) {
    if (!offers.empty())
      offers += ',';
    offers += range.first->value();
  }
  return negotiate_deflate(offers);
}

void deflate_message(std::string_view payload, std::string& out) {
  thread_deflater().run(payload, out);
}

frame_ptr deflated(const frame_ptr& frame) {
  auto made = frame->encoded();
  if (!made) {
    auto payload = protocol::payload_of(*frame);
    std::unique_ptr<const stamped_frame> compressed;
    if (payload.size() >= min_deflate_payload) {
      std::string body;
      deflate_message(payload, body);
      std::string bytes;
      if (body.size() + 4 < payload.size()) {
        bytes.reserve(body.size() + 10);
        protocol::text_header(body.size(), bytes);
        bytes[0] = static_cast<char>(bytes[0] | 0x40); // RSV1: compressed
        bytes += body;
        compressed = std::make_unique<const stamped_frame>(std::move(bytes), frame->framed_at);
      }
    }
    made = frame->keep_encoded(std::move(compressed));
  }
  // Owned by `frame`: an aliasing pointer keeps `frame` alive.
  return made == frame.get() ? frame : frame_ptr{frame, made};
}

inflate_result inflate_message(std::string_view compressed, std::size_t max_size,
                               std::string& out) {
  return thread_inflater().run(compressed, max_size, out);
}

} // namespace switchboard::net

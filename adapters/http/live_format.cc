#include "adapters/http/live_format.h"

#include "adapters/http/json_text.h"

namespace databroker::http {

void append_sse_events(std::string& out, const LiveBatch& batch) {
  for (const hub::Event& event : batch.events) {
    out += "id: ";
    out += std::to_string(event.seq);
    out += "\nevent: reading\ndata: ";
    out += *event.json;  // compact JSON: never holds a newline, so one data line is enough
    out += "\n\n";
  }
}

std::string_view to_string(StreamEnd::Reason reason) {
  switch (reason) {
    case StreamEnd::Reason::BehindRetention:
      return "behind_retention";
    case StreamEnd::Reason::KeyRevoked:
      return "key_revoked";
    case StreamEnd::Reason::LogError:
      return "log_unavailable";
  }
  return "unknown";
}

std::string stream_end_json(const StreamEnd& end) {
  Json doc{{"type", to_string(end.reason)}, {"detail", end.detail}};
  if (end.reason == StreamEnd::Reason::BehindRetention) {
    doc["first_available"] = end.first_available;
  }
  return to_json_text(doc);
}

std::string sse_end_event(const StreamEnd& end) {
  return "event: error\ndata: " + stream_end_json(end) + "\n\n";
}

std::string close_reason_text(std::string_view text) {
  constexpr std::size_t kMaxCloseReason = 123;
  if (text.size() <= kMaxCloseReason) return std::string(text);
  std::size_t end = kMaxCloseReason;
  // Back off continuation bytes (10xxxxxx) so no character is cut in two.
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
  return std::string(text.substr(0, end));
}

std::string websocket_event(const hub::Event& event) {
  std::string out;
  out.reserve(event.json->size() + 48);
  out += R"({"type":"reading","seq":)";
  out += std::to_string(event.seq);
  out += R"(,"reading":)";
  out += *event.json;
  out += '}';
  return out;
}

std::uint16_t websocket_close_code(const StreamEnd& end) {
  switch (end.reason) {
    case StreamEnd::Reason::BehindRetention:
      return kCloseBehindRetention;
    case StreamEnd::Reason::KeyRevoked:
      return kCloseKeyRevoked;
    case StreamEnd::Reason::LogError:
      return 1011;
  }
  return 1011;
}

}  // namespace databroker::http

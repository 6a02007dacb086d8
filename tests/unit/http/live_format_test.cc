// The wire text of live events (SSE and WebSocket) and close reasons.
#include "adapters/http/live_format.h"

#include <catch2/catch.hpp>

namespace databroker::http {
namespace {

hub::Event event(core::Seq seq, std::string json) {
  auto source = std::make_shared<core::Reading>();
  source->sensor_id = "s-1";
  source->kind = "noise";
  source->seq = seq;
  return {seq, std::make_shared<const std::string>(std::move(json)), false, source};
}

TEST_CASE("SSE events carry the seq as id and the JSON on one data line", "[http][live]") {
  LiveBatch batch;
  batch.events.push_back(event(7, R"({"seq":7})"));
  batch.events.push_back(event(8, R"({"seq":8})"));
  std::string out;
  append_sse_events(out, batch);
  CHECK(out ==
        "id: 7\nevent: reading\ndata: {\"seq\":7}\n\nid: 8\nevent: reading\ndata: "
        "{\"seq\":8}\n\n");
  const StreamEnd end{StreamEnd::Reason::BehindRetention, "gone", 12};
  CHECK(sse_end_event(end) ==
        "event: error\ndata: {\"type\":\"behind_retention\",\"detail\":\"gone\","
        "\"first_available\":12}\n\n");
}

TEST_CASE("a WebSocket message wraps the reading with its seq, ends map to close codes",
          "[http][live]") {
  CHECK(websocket_event(event(3, R"({"seq":3})")) ==
        R"({"type":"reading","seq":3,"reading":{"seq":3}})");
  CHECK(websocket_close_code({StreamEnd::Reason::KeyRevoked, "", 0}) == kCloseKeyRevoked);
  CHECK(websocket_close_code({StreamEnd::Reason::BehindRetention, "", 0}) == kCloseBehindRetention);
  CHECK(websocket_close_code({StreamEnd::Reason::LogError, "", 0}) == 1011);
}

TEST_CASE("close reasons fit a control frame without cutting a UTF-8 character", "[http][live]") {
  CHECK(close_reason_text("short") == "short");
  const std::string ascii(200, 'a');
  CHECK(close_reason_text(ascii).size() == 123);
  // 122 ASCII bytes, then a two-byte character that would straddle byte 123.
  const std::string text = std::string(122, 'a') + "\xc3\xa9" + "tail";
  CHECK(close_reason_text(text) == std::string(122, 'a'));
}

}  // namespace
}  // namespace databroker::http

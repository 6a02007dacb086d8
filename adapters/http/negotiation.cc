#include "adapters/http/negotiation.h"

#include <boost/url/url.hpp>
#include <nlohmann/json.hpp>

#include "adapters/http/json_text.h"
#include "adapters/http/params.h"
#include "adapters/http/problem.h"
#include "broker/core/text.h"

namespace databroker::http {

namespace {

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  return out;
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

// A q-value (RFC 9110 §12.4.2: 0 to 1, at most three decimals); nullopt when malformed.
std::optional<double> parse_q(std::string_view text) {
  const auto value = core::parse_finite_number(text);
  if (!value || *value < 0 || *value > 1 || text.size() > 5) return std::nullopt;
  return value;
}

bool range_matches(std::string_view range, std::string_view media_type) {
  if (range == "*/*") return true;
  if (range.ends_with("/*")) return media_type.starts_with(range.substr(0, range.size() - 1));
  return range == media_type;
}

HttpResponse not_acceptable_response(std::span<const Format> supported, std::string_view why) {
  std::string list;
  Json formats = Json::array();
  for (Format f : supported) {
    if (!list.empty()) list += ", ";
    list += std::string(format_name(f)) + " (" + std::string(format_media_type(f)) + ")";
    formats.push_back({{"format", format_name(f)}, {"media_type", format_media_type(f)}});
  }
  HttpResponse response =
      problem_response(406, "not_acceptable", std::string(why) + "; this resource serves " + list);
  Json body = Json::parse(response.body);
  body["supported"] = std::move(formats);
  response.body = to_json_text(body);
  return response;
}

}  // namespace

std::string_view format_name(Format format) {
  switch (format) {
    case Format::Json:
      return "json";
    case Format::Csv:
      return "csv";
    case Format::GeoJson:
      return "geojson";
    case Format::NgsiLd:
    case Format::NgsiLdJson:
      return "ngsi-ld";
    case Format::JsonLd:
      return "jsonld";
    case Format::Turtle:
      return "turtle";
  }
  return "json";
}

std::string_view format_media_type(Format format) {
  switch (format) {
    case Format::Json:
    case Format::NgsiLdJson:
      return "application/json";
    case Format::Csv:
      return "text/csv";
    case Format::GeoJson:
      return "application/geo+json";
    case Format::NgsiLd:
    case Format::JsonLd:
      return "application/ld+json";
    case Format::Turtle:
      return "text/turtle";
  }
  return "application/json";
}

std::optional<Format> negotiate(const HttpRequest& request, std::span<const Format> supported,
                                HttpResponse& not_acceptable) {
  if (const auto wanted = request.query_param("format")) {
    const std::string name = lower(*wanted);
    for (Format f : supported) {
      if (f != Format::NgsiLdJson && format_name(f) == name) return f;
    }
    not_acceptable =
        not_acceptable_response(supported, "format=" + shorten(*wanted) + " is not served");
    return std::nullopt;
  }
  const std::string_view header = trim(request.accept);
  if (header.empty()) return supported.front();
  std::optional<Format> best;
  double best_q = 0;
  std::string_view rest = header;
  while (!rest.empty()) {
    const auto comma = rest.find(',');
    std::string_view item = trim(rest.substr(0, comma));
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    const auto semicolon = item.find(';');
    const std::string range = lower(trim(item.substr(0, semicolon)));
    double q = 1;
    if (semicolon != std::string_view::npos) {
      std::string_view params = item.substr(semicolon + 1);
      while (!params.empty()) {
        const auto next = params.find(';');
        const std::string_view param = trim(params.substr(0, next));
        params = next == std::string_view::npos ? std::string_view() : params.substr(next + 1);
        if (param.size() > 2 && (param[0] == 'q' || param[0] == 'Q') && param[1] == '=') {
          q = parse_q(param.substr(2)).value_or(0);
        }
      }
    }
    if (q <= best_q) continue;
    for (Format f : supported) {
      if (range_matches(range, format_media_type(f))) {
        best = f;
        best_q = q;
        break;
      }
    }
  }
  if (!best) {
    not_acceptable =
        not_acceptable_response(supported, "no representation matches Accept: " + shorten(header));
  }
  return best;
}

std::string next_page_link(const HttpRequest& request, std::string_view name,
                           std::string_view value) {
  const std::string_view target = request.target;
  boost::urls::url url;
  url.set_encoded_path(boost::urls::string_view(
      target.data(), target.find('?') == target.npos ? target.size() : target.find('?')));
  auto params = url.params();
  for (const auto& [key, current] : request.query) {
    if (key == name) continue;
    params.append({key, current});
  }
  params.append({std::string(name), std::string(value)});
  return "<" + std::string(url.buffer()) + ">; rel=\"next\"";
}

}  // namespace databroker::http

// GET /v1/catalog: the DCAT-AP catalogue of the open data, as JSON-LD or Turtle.
//
// What is open is decided for the anonymous caller whoever asks, so an internal key never puts a
// closed or shared stream in the catalogue. A dataset is listed when its open rule currently
// publishes at least one stream; a policy without a `catalog:` block has no catalogue (404).
#include <algorithm>
#include <map>

#include "adapters/codecs/dcat.h"
#include "adapters/http/handlers.h"
#include "adapters/http/negotiation.h"
#include "adapters/http/problem.h"
#include "adapters/http/visible_streams.h"

namespace databroker::http {

namespace {

constexpr Format kCatalogFormats[] = {Format::JsonLd, Format::Turtle};

void get_catalog(const HandlerContext& context, const HttpRequest& request, Respond respond) {
  HttpResponse refused;
  const auto format = negotiate(request, kCatalogFormats, refused);
  if (!format) return respond(std::move(refused));
  const RequestPolicy policy(context);
  const policies::Policy& document = policy.snapshot->policy();
  if (!document.catalog()) {
    return respond(
        problem_response(404, "catalog_not_configured",
                         "the policy has no catalog block, so no catalogue is published"));
  }
  const access::Identity anonymous;
  std::map<const policies::Rule*, codecs::DcatDataset> datasets;
  for (const VisibleStream& stream : visible_streams(context, policy, anonymous)) {
    const policies::Rule* rule = stream.view.decision.rule;
    if (stream.view.decision.stream_class != policies::StreamClass::Open || rule == nullptr ||
        !rule->dataset) {
      continue;
    }
    codecs::DcatDataset& dataset = datasets[rule];
    dataset.info = *rule->dataset;
    if (std::find(dataset.kinds.begin(), dataset.kinds.end(), stream.state.sensor.kind) ==
        dataset.kinds.end()) {
      dataset.kinds.push_back(stream.state.sensor.kind);
    }
    if (stream.state.latest) {
      dataset.modified =
          std::max(dataset.modified.value_or(stream.state.latest->ts), stream.state.latest->ts);
    }
  }
  // In the policy's rule order, so the catalogue reads like the document.
  std::vector<codecs::DcatDataset> ordered;
  for (const policies::Rule& rule : document.rules()) {
    if (auto it = datasets.find(&rule); it != datasets.end()) {
      std::sort(it->second.kinds.begin(), it->second.kinds.end());
      ordered.push_back(std::move(it->second));
    }
  }
  HttpResponse response;
  if (*format == Format::Turtle) {
    response.content_type = codecs::kTurtleMediaType;
    response.body = codecs::dcat_turtle(*document.catalog(), ordered);
  } else {
    response.content_type = "application/ld+json";
    response.body = codecs::dcat_jsonld(*document.catalog(), ordered);
  }
  respond(std::move(response));
}

}  // namespace

void add_catalog_routes(Router& router, const HandlerContext& context) {
  router.add(Verb::get, "/v1/catalog", [&context](HttpRequest& request, Respond respond) {
    get_catalog(context, request, std::move(respond));
  });
}

}  // namespace databroker::http

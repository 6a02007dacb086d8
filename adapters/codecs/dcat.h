// The DCAT-AP catalogue of the open data, as JSON-LD and as Turtle, from one RDF description.
//
// One dcat:Catalog; one dcat:Dataset per open rule that currently publishes at least one stream
// (the caller decides which, from the policy: nothing closed or shared is ever passed here); per
// dataset five dcat:Distributions (REST JSON, CSV, GeoJSON, Server-Sent Events, NGSI-LD), each
// with an accessURL, identifier, format, media type and licence URI; one dcat:DataService for the
// NGSI-LD API (endpointURL, endpointDescription = the OpenAPI document, conformsTo ETSI GS CIM
// 009). Publisher (foaf:Agent) and contact point (vcard:Kind) come from the policy's `catalog:`
// block. Every node has an IRI under `{base_url}/v1/catalog#…`, so there are no blank nodes and
// both serialisations describe exactly the same triples.
//
// Themes: the dataset's own, else the ones of its kinds (policies::default_themes_for_kind), else
// the catalogue's. Distribution URLs are in the docs (docs/formats.md, "DCAT-AP catalogue").
//
// Pure functions; thread-safe.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "broker/core/reading.h"
#include "policies/catalog.h"

namespace databroker::codecs {

inline constexpr std::string_view kTurtleMediaType = "text/turtle; charset=utf-8";

struct DcatDataset {
  policies::DatasetInfo info;
  std::vector<std::string> kinds;             // of its open streams, sorted, unique
  std::optional<core::TimestampMs> modified;  // the newest observation among its streams
};

std::string dcat_jsonld(const policies::CatalogInfo& catalog,
                        std::span<const DcatDataset> datasets);
std::string dcat_turtle(const policies::CatalogInfo& catalog,
                        std::span<const DcatDataset> datasets);

}  // namespace databroker::codecs

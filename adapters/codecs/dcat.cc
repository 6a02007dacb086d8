#include "adapters/codecs/dcat.h"

#include <algorithm>

#include "adapters/codecs/json_common.h"
#include "adapters/codecs/ngsi_ld.h"
#include "broker/core/logging.h"
#include "broker/core/text.h"
#include "broker/core/time.h"

namespace databroker::codecs {

namespace {

using detail::Json;

constexpr std::pair<std::string_view, std::string_view> kPrefixes[] = {
    {"dcat", "http://www.w3.org/ns/dcat#"},
    {"dct", "http://purl.org/dc/terms/"},
    {"foaf", "http://xmlns.com/foaf/0.1/"},
    {"vcard", "http://www.w3.org/2006/vcard/ns#"},
    {"xsd", "http://www.w3.org/2001/XMLSchema#"}};

constexpr std::string_view kPublicAccess =
    "http://publications.europa.eu/resource/authority/access-right/PUBLIC";
constexpr std::string_view kFileType =
    "http://publications.europa.eu/resource/authority/file-type/";
constexpr std::string_view kMediaTypes = "https://www.iana.org/assignments/media-types/";
constexpr std::string_view kNgsiLdSpec =
    "https://www.etsi.org/deliver/etsi_gs/CIM/001_099/009/01.07.01_60/gs_CIM009v010701p.pdf";

// An RDF object: an IRI, or a literal with a language tag or a datatype (prefixed name).
struct Term {
  enum class Kind { Iri, Literal };
  Kind kind = Kind::Literal;
  std::string text;
  std::string language;
  std::string datatype;
};

Term iri(std::string text) { return {Term::Kind::Iri, std::move(text), "", ""}; }
Term literal(std::string text) { return {Term::Kind::Literal, std::move(text), "", ""}; }

struct Resource {
  std::string iri;
  std::string type;  // prefixed name
  std::vector<std::pair<std::string, Term>> properties;

  void add(std::string predicate, Term object) {
    properties.emplace_back(std::move(predicate), std::move(object));
  }
};

struct Distribution {
  std::string_view key;
  std::string_view title;
  std::string format;  // IRI
  std::string_view media_type;
  std::string url;
  bool via_ngsi_ld = false;
};

std::string join_list(const std::vector<std::string>& items) { return core::join(items, ","); }

class GraphBuilder {
 public:
  explicit GraphBuilder(const policies::CatalogInfo& catalog)
      : c_(catalog), root_(catalog.base_url + "/v1/catalog") {}

  std::vector<Resource> build(std::span<const DcatDataset> datasets) {
    Resource catalog{root_, "dcat:Catalog", {}};
    catalog.add("dct:title", text(c_.title));
    catalog.add("dct:description", text(c_.description));
    catalog.add("dct:publisher", iri(node("publisher")));
    catalog.add("dct:license", iri(c_.license));
    catalog.add("foaf:homepage", iri(c_.base_url + "/"));
    for (const DcatDataset& d : datasets) catalog.add("dcat:dataset", iri(dataset_iri(d)));
    catalog.add("dcat:service", iri(node("ngsi-ld-api")));
    out_.push_back(std::move(catalog));
    add_agents();
    for (const DcatDataset& d : datasets) add_dataset(d);
    add_service(datasets);
    return std::move(out_);
  }

 private:
  std::string node(std::string_view fragment) const { return root_ + "#" + std::string(fragment); }
  std::string dataset_iri(const DcatDataset& d) const {
    return node("dataset-" + d.info.identifier);
  }
  Term text(std::string value) const {
    return {Term::Kind::Literal, std::move(value), c_.language, ""};
  }

  void add_agents() {
    Resource publisher{node("publisher"), "foaf:Agent", {}};
    publisher.add("foaf:name", text(c_.publisher.name));
    if (!c_.publisher.email.empty())
      publisher.add("foaf:mbox", iri("mailto:" + c_.publisher.email));
    if (!c_.publisher.url.empty()) publisher.add("foaf:homepage", iri(c_.publisher.url));
    out_.push_back(std::move(publisher));
    Resource contact{node("contact"), "vcard:Kind", {}};
    contact.add("vcard:fn", text(c_.contact.name));
    if (!c_.contact.email.empty()) contact.add("vcard:hasEmail", iri("mailto:" + c_.contact.email));
    if (!c_.contact.url.empty()) contact.add("foaf:page", iri(c_.contact.url));
    out_.push_back(std::move(contact));
  }

  void add_common(Resource& r, const std::string& identifier) const {
    r.add("dct:identifier", literal(identifier));
    r.add("dct:publisher", iri(node("publisher")));
    r.add("dcat:contactPoint", iri(node("contact")));
    r.add("dct:accessRights", iri(std::string(kPublicAccess)));
  }

  std::vector<std::string> themes_of(const DcatDataset& d) const {
    std::vector<std::string> themes = d.info.themes;
    if (themes.empty()) {
      for (const std::string& kind : d.kinds) {
        for (std::string_view theme : policies::default_themes_for_kind(kind)) {
          if (std::find(themes.begin(), themes.end(), theme) == themes.end()) {
            themes.emplace_back(theme);
          }
        }
      }
    }
    if (themes.empty()) themes = c_.themes;
    return themes;
  }

  void add_dataset(const DcatDataset& d) {
    const std::string id = dataset_iri(d);
    Resource dataset{id, "dcat:Dataset", {}};
    dataset.add("dct:title", text(d.info.title));
    dataset.add("dct:description", text(d.info.description));
    add_common(dataset, id);
    for (const std::string& theme : themes_of(d)) {
      dataset.add("dcat:theme", iri(std::string(policies::kDataThemeBase) + theme));
    }
    for (const std::string& keyword : d.info.keywords) dataset.add("dcat:keyword", text(keyword));
    if (d.modified) {
      dataset.add("dct:modified",
                  {Term::Kind::Literal, core::format_rfc3339(*d.modified), "", "xsd:dateTime"});
    }
    std::vector<std::string> types;
    for (const std::string& kind : d.kinds) {
      for (std::string_view type : ngsi_types_of_kind(kind)) types.emplace_back(type);
    }
    const std::string q = "?dataset=" + d.info.identifier;
    std::vector<Distribution> distributions = {
        {"json", "REST API (JSON)", std::string(kFileType) + "JSON", "application/json",
         c_.base_url + "/v1/readings" + q, false},
        {"csv", "CSV", std::string(kFileType) + "CSV", "text/csv",
         c_.base_url + "/v1/readings" + q + "&format=csv", false},
        {"geojson", "GeoJSON", std::string(kFileType) + "GEOJSON", "application/geo+json",
         c_.base_url + "/v1/streams" + q + "&format=geojson", false},
        {"sse", "Server-Sent Events (live)", std::string(kMediaTypes) + "text/event-stream",
         "text/event-stream", c_.base_url + "/v1/subscribe?kind=" + join_list(d.kinds), false},
    };
    if (!types.empty()) {
      distributions.push_back({"ngsi-ld", "NGSI-LD (Smart Data Models)",
                               std::string(kFileType) + "JSON_LD", "application/ld+json",
                               c_.base_url + "/ngsi-ld/v1/entities?type=" + join_list(types),
                               true});
    }
    std::vector<Resource> parts;
    for (const Distribution& dist : distributions) {
      const std::string dist_id =
          node("dataset-" + d.info.identifier + "-" + std::string(dist.key));
      dataset.add("dcat:distribution", iri(dist_id));
      Resource r{dist_id, "dcat:Distribution", {}};
      r.add("dct:title", text(std::string(dist.title)));
      r.add("dcat:accessURL", iri(dist.url));
      r.add("dct:identifier", literal(dist_id));
      r.add("dct:format", iri(dist.format));
      r.add("dcat:mediaType", iri(std::string(kMediaTypes) + std::string(dist.media_type)));
      r.add("dct:license", iri(d.info.license));
      if (dist.via_ngsi_ld) r.add("dcat:accessService", iri(node("ngsi-ld-api")));
      parts.push_back(std::move(r));
    }
    out_.push_back(std::move(dataset));
    for (Resource& r : parts) out_.push_back(std::move(r));
  }

  void add_service(std::span<const DcatDataset> datasets) {
    const std::string id = node("ngsi-ld-api");
    Resource service{id, "dcat:DataService", {}};
    service.add("dct:title", text("NGSI-LD API (ETSI GS CIM 009, read-only)"));
    add_common(service, id);
    service.add("dcat:endpointURL", iri(c_.base_url + "/ngsi-ld/v1"));
    service.add("dcat:endpointDescription", iri(c_.base_url + "/v1/openapi.json"));
    service.add("dct:conformsTo", iri(std::string(kNgsiLdSpec)));
    service.add("dct:license", iri(c_.license));
    for (const DcatDataset& d : datasets) service.add("dcat:servesDataset", iri(dataset_iri(d)));
    out_.push_back(std::move(service));
  }

  const policies::CatalogInfo& c_;
  std::string root_;
  std::vector<Resource> out_;
};

Json term_json(const Term& t) {
  if (t.kind == Term::Kind::Iri) return {{"@id", t.text}};
  if (!t.language.empty()) return {{"@value", t.text}, {"@language", t.language}};
  if (!t.datatype.empty()) return {{"@value", t.text}, {"@type", t.datatype}};
  return t.text;
}

// Turtle's string escapes (ECHAR, UCHAR) include every escape JSON uses, so the JSON escaper
// writes a valid Turtle string body.
void append_turtle_string(std::string& out, std::string_view text) {
  out += '"';
  core::append_json_escaped(out, text);
  out += '"';
}

}  // namespace

std::string dcat_jsonld(const policies::CatalogInfo& catalog,
                        std::span<const DcatDataset> datasets) {
  Json context = Json::object();
  for (const auto& [prefix, ns] : kPrefixes) context[std::string(prefix)] = ns;
  Json graph = Json::array();
  for (const Resource& r : GraphBuilder(catalog).build(datasets)) {
    Json node = {{"@id", r.iri}, {"@type", r.type}};
    for (const auto& [predicate, object] : r.properties) {
      Json value = term_json(object);
      if (!node.contains(predicate)) {
        node[predicate] = std::move(value);
      } else {
        Json& slot = node[predicate];
        if (!slot.is_array()) slot = Json::array({slot});
        slot.push_back(std::move(value));
      }
    }
    graph.push_back(std::move(node));
  }
  return detail::dump({{"@context", std::move(context)}, {"@graph", std::move(graph)}});
}

std::string dcat_turtle(const policies::CatalogInfo& catalog,
                        std::span<const DcatDataset> datasets) {
  std::string out;
  for (const auto& [prefix, ns] : kPrefixes) {
    out += "@prefix " + std::string(prefix) + ": <" + std::string(ns) + "> .\n";
  }
  for (const Resource& r : GraphBuilder(catalog).build(datasets)) {
    out += "\n<" + r.iri + "> a " + r.type;
    for (const auto& [predicate, object] : r.properties) {
      out += " ;\n    " + predicate + " ";
      if (object.kind == Term::Kind::Iri) {
        out += "<" + object.text + ">";
      } else {
        append_turtle_string(out, object.text);
        if (!object.language.empty()) out += "@" + object.language;
        if (!object.datatype.empty()) out += "^^" + object.datatype;
      }
    }
    out += " .\n";
  }
  return out;
}

}  // namespace databroker::codecs

// What the DCAT-AP catalogue says about the open data: the publisher, the licence, the public
// address, and per open rule the dataset's title, description, keywords and themes.
//
// Written by the data steward in the policy document (a top-level `catalog:` block and an optional
// `dataset:` block on open rules, docs/policy.md) and validated with the rest of it by
// compile_policy, so the catalogue can only describe what the policy publishes. Everything here is
// checked to meet the DCAT-AP Vlaanderen minimum and the Datavindplaats rules: a publisher with a
// name and an e-mail or a web page, a contact point, at least one keyword, EU data themes, and a
// licence given as a URI.
//
// Plain immutable values, part of a Policy; safe to share between threads.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace databroker::policies {

// The EU data theme codes (http://publications.europa.eu/resource/authority/data-theme).
inline constexpr std::string_view kDataThemes[] = {"AGRI", "ECON", "EDUC", "ENER", "ENVI",
                                                   "GOVE", "HEAL", "INTR", "JUST", "OP_DATPRO",
                                                   "REGI", "SOCI", "TECH", "TRAN"};
inline constexpr std::string_view kDataThemeBase =
    "http://publications.europa.eu/resource/authority/data-theme/";

// Someone to reach: at least one of `email` and `url` is set (compile_policy checks it).
struct Agent {
  std::string name;
  std::string email;  // without "mailto:"
  std::string url;    // http(s)
};

struct CatalogInfo {
  std::string base_url;  // the public address of this broker, http(s), no trailing '/'
  std::string title;
  std::string description;
  Agent publisher;
  Agent contact;                      // defaults to the publisher
  std::string license;                // a URI (open data needs one)
  std::vector<std::string> keywords;  // at least one; the default of datasets without their own
  std::vector<std::string> themes;    // EU data theme codes; the default when a kind has no theme
  std::string language = "nl";        // the language tag of titles and descriptions
  int line = 0;
};

// The `dataset:` block of an open rule, with the defaults filled in by compile_policy: the
// identifier is the block's or a slug of the rule's name, the title the rule's name, the
// description the rule's description, keywords and licence the catalogue's. Themes stay empty
// when not given: the catalogue derives them from the kinds of the streams (see
// default_themes_for_kind).
struct DatasetInfo {
  std::string identifier;  // [a-z0-9-], unique among the rules
  std::string title;
  std::string description;
  std::vector<std::string> keywords;
  std::vector<std::string> themes;
  std::string license;
  int line = 0;
};

// ENVI for air quality, noise and waste bins, TRAN for parking; empty for other kinds.
std::span<const std::string_view> default_themes_for_kind(std::string_view kind);

// The dataset identifier a rule gets without one of its own: its name in lower case, runs of
// anything but letters and digits as one '-', without leading or trailing '-' ("dataset" when
// nothing is left).
std::string dataset_slug(std::string_view rule_name);

}  // namespace databroker::policies

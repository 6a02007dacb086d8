#include "adapters/http/ngsi_ld_params.h"

#include "adapters/http/params.h"

namespace databroker::http {

namespace {

void read_options(std::string_view field, std::string_view text, NgsiRepresentation& out,
                  int& forms, std::vector<core::FieldError>& errors) {
  for (const std::string& option : split_comma_list(text)) {
    if (option == "normalized") {
      out.form = codecs::NgsiForm::Normalized;
      ++forms;
    } else if (option == "concise") {
      out.form = codecs::NgsiForm::Concise;
      ++forms;
    } else if (option == "keyValues" || option == "simplified") {
      out.form = codecs::NgsiForm::KeyValues;
      ++forms;
    } else if (option == "temporalValues") {
      out.temporal_values = true;
    } else if (option != "sysAttrs") {
      errors.push_back({std::string(field), "unsupported",
                        "'" + shorten(option) +
                            "' is not one of normalized, concise, keyValues, simplified, "
                            "temporalValues, sysAttrs"});
    }
  }
}

}  // namespace

NgsiRepresentation parse_ngsi_representation(const HttpRequest& request, bool ngsi_format,
                                             std::vector<core::FieldError>& errors) {
  NgsiRepresentation out;
  int forms = 0;
  if (auto text = request.query_param("options"))
    read_options("options", *text, out, forms, errors);
  if (ngsi_format) {
    if (auto text = request.query_param("format"))
      read_options("format", *text, out, forms, errors);
  }
  if (forms > 1) {
    errors.push_back({"options", "conflict", "choose one of normalized, concise and keyValues"});
  }
  return out;
}

std::vector<std::string> parse_ngsi_attrs(const HttpRequest& request,
                                          std::vector<core::FieldError>& errors) {
  std::vector<std::string> out;
  if (auto text = request.query_param("attrs")) {
    out = split_comma_list(*text);
    for (const std::string& name : out) {
      if (name.empty()) {
        errors.push_back({"attrs", "malformed", "attrs is a comma-separated list of names"});
        break;
      }
    }
  }
  return out;
}

std::vector<std::string> split_comma_list(std::string_view text) {
  std::vector<std::string> out;
  while (true) {
    const auto comma = text.find(',');
    out.emplace_back(text.substr(0, comma));
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return out;
}

codecs::NgsiTemporalForm temporal_form(const NgsiRepresentation& representation) {
  if (representation.temporal_values || representation.form == codecs::NgsiForm::KeyValues) {
    return codecs::NgsiTemporalForm::TemporalValues;
  }
  return representation.form == codecs::NgsiForm::Concise ? codecs::NgsiTemporalForm::Concise
                                                          : codecs::NgsiTemporalForm::Normalized;
}

}  // namespace databroker::http

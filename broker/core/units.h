// Units of measurement: the symbols the broker knows and how to convert between them.
//
// A measurement's unit (kinds.h) and a unit that arrives with a value (a SenML `u`, a vendor
// string such as "830 mm" or "19 ℃", a field mapping's `unit`) meet here. Two units convert when
// they measure the same quantity (length, temperature, fraction, ...); anything else is a
// mismatch, so a distance can never be stored as a temperature. "%" is a percentage (0–100) and
// "/" a ratio (0–1); SenML's own reading of "%" is the SenML codec's business.
//
// A unit outside the table converts only to itself. Pure functions; thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "broker/core/result.h"

namespace databroker::core {

enum class Quantity {
  Length,
  Temperature,
  Fraction,
  MassConcentration,
  SoundLevel,
  PowerLevel,
  Angle,
  Count,
  Voltage,
  Pressure,
};

std::string_view to_string(Quantity quantity);

// value_in_base = value × scale + offset, the base unit being the first one of its quantity in
// the table (m, Cel, "/", ug/m3, dB, dBm, deg, count, V, Pa).
struct UnitInfo {
  Quantity quantity = Quantity::Count;
  double scale = 1;
  double offset = 0;
};

// The symbol's entry, or nothing for a symbol the table does not know.
std::optional<UnitInfo> find_unit(std::string_view symbol);

// `value` in `from` expressed in `to`. An empty `from` means "already in `to`". Fails with a
// FieldError (field left empty for the caller) whose reason is `unknown_unit` (a `from` the table
// does not know and that is not `to`) or `unit_mismatch` (different quantities, or a `to` the
// table does not know and that differs from `from`).
tl::expected<double, FieldError> convert_unit(double value, std::string_view from,
                                              std::string_view to);

// Whether a value in `from` can be converted to `to` (the check convert_unit makes, without a
// value); for the configuration loader.
bool units_convert(std::string_view from, std::string_view to);

// A number followed by an optional unit, as vendor payload formatters write them: "830 mm",
// "19 ℃", "0 °", "-3.5e1dB", "42". Spaces around both parts are ignored. Nothing when the text
// does not start with a finite decimal number.
struct NumberWithUnit {
  double value = 0;
  std::string unit;  // empty when the text holds only the number
};
std::optional<NumberWithUnit> parse_number_with_unit(std::string_view text);

}  // namespace databroker::core

#include "broker/core/units.h"

#include <array>
#include <charconv>
#include <cmath>
#include <utility>

namespace databroker::core {

namespace {

struct UnitEntry {
  std::string_view symbol;
  UnitInfo info;
};

constexpr double kDegreesPerRadian = 57.29577951308232;

// Vendor spellings ("℃", "°", "µg/m3") sit beside the SenML and UCUM-like symbols, because
// payload formatters write what a datasheet prints.
constexpr std::array kUnits = {
    UnitEntry{"m", {Quantity::Length, 1, 0}},
    UnitEntry{"cm", {Quantity::Length, 0.01, 0}},
    UnitEntry{"mm", {Quantity::Length, 0.001, 0}},
    UnitEntry{"km", {Quantity::Length, 1000, 0}},
    UnitEntry{"Cel", {Quantity::Temperature, 1, 0}},
    UnitEntry{"°C", {Quantity::Temperature, 1, 0}},
    UnitEntry{"℃", {Quantity::Temperature, 1, 0}},
    UnitEntry{"K", {Quantity::Temperature, 1, -273.15}},
    UnitEntry{"/", {Quantity::Fraction, 1, 0}},
    UnitEntry{"ratio", {Quantity::Fraction, 1, 0}},
    UnitEntry{"%", {Quantity::Fraction, 0.01, 0}},
    UnitEntry{"%RH", {Quantity::Fraction, 0.01, 0}},
    UnitEntry{"%EL", {Quantity::Fraction, 0.01, 0}},
    UnitEntry{"ug/m3", {Quantity::MassConcentration, 1, 0}},
    UnitEntry{"µg/m3", {Quantity::MassConcentration, 1, 0}},  // micro sign
    UnitEntry{"μg/m3", {Quantity::MassConcentration, 1, 0}},  // Greek mu
    UnitEntry{"mg/m3", {Quantity::MassConcentration, 1e3, 0}},
    UnitEntry{"kg/m3", {Quantity::MassConcentration, 1e9, 0}},
    UnitEntry{"dB", {Quantity::SoundLevel, 1, 0}},
    UnitEntry{"dB(A)", {Quantity::SoundLevel, 1, 0}},
    UnitEntry{"dBA", {Quantity::SoundLevel, 1, 0}},
    UnitEntry{"dBm", {Quantity::PowerLevel, 1, 0}},
    UnitEntry{"dBW", {Quantity::PowerLevel, 1, 30}},
    UnitEntry{"deg", {Quantity::Angle, 1, 0}},
    UnitEntry{"°", {Quantity::Angle, 1, 0}},
    UnitEntry{"rad", {Quantity::Angle, kDegreesPerRadian, 0}},
    UnitEntry{"count", {Quantity::Count, 1, 0}},
    UnitEntry{"V", {Quantity::Voltage, 1, 0}},
    UnitEntry{"mV", {Quantity::Voltage, 0.001, 0}},
    UnitEntry{"Pa", {Quantity::Pressure, 1, 0}},
    UnitEntry{"hPa", {Quantity::Pressure, 100, 0}},
};

std::string quoted(std::string_view unit) { return "'" + std::string(unit.substr(0, 32)) + "'"; }

}  // namespace

std::string_view to_string(Quantity quantity) {
  switch (quantity) {
    case Quantity::Length:
      return "length";
    case Quantity::Temperature:
      return "temperature";
    case Quantity::Fraction:
      return "fraction";
    case Quantity::MassConcentration:
      return "mass concentration";
    case Quantity::SoundLevel:
      return "sound level";
    case Quantity::PowerLevel:
      return "power level";
    case Quantity::Angle:
      return "angle";
    case Quantity::Count:
      return "count";
    case Quantity::Voltage:
      return "voltage";
    case Quantity::Pressure:
      return "pressure";
  }
  return "unknown";
}

std::optional<UnitInfo> find_unit(std::string_view symbol) {
  for (const auto& entry : kUnits) {
    if (entry.symbol == symbol) return entry.info;
  }
  return std::nullopt;
}

tl::expected<double, FieldError> convert_unit(double value, std::string_view from,
                                              std::string_view to) {
  if (from.empty() || from == to) return value;
  auto source = find_unit(from);
  if (!source) {
    return tl::unexpected(FieldError{"", "unknown_unit", "unknown unit " + quoted(from)});
  }
  auto target = find_unit(to);
  if (!target) {
    return tl::unexpected(FieldError{
        "", "unit_mismatch", "the measurement is in " + quoted(to) + ", not " + quoted(from)});
  }
  if (source->quantity != target->quantity) {
    return tl::unexpected(
        FieldError{"", "unit_mismatch",
                   quoted(from) + " is a " + std::string(to_string(source->quantity)) +
                       " but the measurement is a " + std::string(to_string(target->quantity)) +
                       " in " + quoted(to)});
  }
  return (value * source->scale + source->offset - target->offset) / target->scale;
}

bool units_convert(std::string_view from, std::string_view to) {
  return convert_unit(0, from, to).has_value();
}

std::optional<NumberWithUnit> parse_number_with_unit(std::string_view text) {
  auto trim = [](std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
  };
  text = trim(text);
  if (!text.empty() && text.front() == '+') text.remove_prefix(1);
  // from_chars also reads "inf" and "nan"; a number must start like one.
  if (text.empty() || !(std::isdigit(static_cast<unsigned char>(text.front())) ||
                        text.front() == '-' || text.front() == '.')) {
    return std::nullopt;
  }
  double value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || !std::isfinite(value)) return std::nullopt;
  std::string_view rest = trim(text.substr(static_cast<std::size_t>(end - text.data())));
  return NumberWithUnit{value, std::string(rest)};
}

}  // namespace databroker::core

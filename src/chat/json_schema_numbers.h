#pragma once
// Grammar expressions for JSON numbers within bounds (used by the JSON Schema converter).
//
// Integers: exact. A decimal range [lo, hi] is split into runs of equal digit count and each run
// into digit-prefix classes ([3-7][0-9]{2} ...), the classic range-to-regex construction.
// Numbers: the bounds are rounded inward to integers and enforced through the integer part: a
// value in [a, b] (a, b integers) is an integer part in [a, b-1] with any fraction, or exactly b
// with an all-zero fraction. Exponents are not generated when a bound is present.
#include <cstdint>
#include <optional>
#include <string>

namespace tandem::chat::json_schema_detail {

struct DigitLimits {
  uint32_t integer_digits = 20;   // most digits in an integer part
  uint32_t fraction_digits = 20;  // most digits after the point
  uint32_t exponent_digits = 3;
};

// Expression matching the integers in [lo, hi] (either bound may be absent). Throws
// InvalidArgument if the range is empty.
std::string integer_expr(std::optional<int64_t> lo, std::optional<int64_t> hi,
                         const DigitLimits& limits);

// Expression matching JSON numbers (fraction and exponent allowed) within [lo, hi].
std::string number_expr(std::optional<int64_t> lo, std::optional<int64_t> hi,
                        const DigitLimits& limits);

}  // namespace tandem::chat::json_schema_detail

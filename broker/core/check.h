// DATABROKER_CHECK: an always-on check for impossible states. It aborts with a reason; it is
// never used on input, which is validated and answered with an Error instead.
#pragma once

#include <cstdio>
#include <cstdlib>

#define DATABROKER_CHECK(condition, reason)                                                  \
  do {                                                                                       \
    if (!(condition)) {                                                                      \
      std::fprintf(stderr, "%s:%d: check failed: %s (%s)\n", __FILE__, __LINE__, #condition, \
                   reason);                                                                  \
      std::abort();                                                                          \
    }                                                                                        \
  } while (false)

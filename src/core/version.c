#include "floe.h"

const char *floe_version_string(void) {
  return FLOE_VERSION_STRING;
}

unsigned floe_version_number(void) {
  return FLOE_VERSION_NUMBER;
}

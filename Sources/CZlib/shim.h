#ifndef TEARDOWN_CZLIB_SHIM_H
#define TEARDOWN_CZLIB_SHIM_H
#include <zlib.h>
#endif

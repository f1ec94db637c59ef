#ifndef TEARDOWN_CZSTD_SHIM_H
#define TEARDOWN_CZSTD_SHIM_H
#include <zstd.h>
#endif

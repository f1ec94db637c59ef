#ifndef TEARDOWN_CPCAP_SHIM_H
#define TEARDOWN_CPCAP_SHIM_H
#include <pcap/pcap.h>
#endif

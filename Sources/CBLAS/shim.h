#ifndef DECOUPLE_CBLAS_SHIM_H
#define DECOUPLE_CBLAS_SHIM_H
// pkgConfig "openblas" puts .../openblas-pthread/ first on the include path, so this is
// OpenBLAS's own cblas.h with openblas_set_num_threads and friends, whatever the Debian
// alternatives for libblas point at.
#include <cblas.h>
#endif

# Picks the wolfSSL to link: the static build with assembly that
# scripts/deps.sh leaves in a cache prefix, or, failing that, Debian's
# libwolfssl-dev, which has no assembly. The fallback is said loudly here and
# reported by `urelay version` (URELAY_WOLFSSL_ASM_BUILD).
if(WOLFSSL_PREFIX AND EXISTS "${WOLFSSL_PREFIX}/lib/libwolfssl.a")
  add_library(wolfssl STATIC IMPORTED GLOBAL)
  set_target_properties(wolfssl PROPERTIES
    IMPORTED_LOCATION "${WOLFSSL_PREFIX}/lib/libwolfssl.a"
    INTERFACE_INCLUDE_DIRECTORIES "${WOLFSSL_PREFIX}/include"
    INTERFACE_LINK_LIBRARIES "m;pthread")
  set(URELAY_WOLFSSL_SOURCE_BUILD 1)
  message(STATUS "wolfSSL: source build with assembly at ${WOLFSSL_PREFIX}")
else()
  pkg_check_modules(WOLFSSL_PKG REQUIRED IMPORTED_TARGET wolfssl)
  add_library(wolfssl INTERFACE IMPORTED GLOBAL)
  target_link_libraries(wolfssl INTERFACE PkgConfig::WOLFSSL_PKG)
  set(URELAY_WOLFSSL_SOURCE_BUILD 0)
  message(WARNING
    "\n!!! Using Debian's packaged libwolfssl-dev: NO assembly, AES-256-GCM about 0.15 GB/s."
    "\n!!! Run scripts/deps.sh and pass -DWOLFSSL_PREFIX=<prefix> for the fast build.\n")
endif()

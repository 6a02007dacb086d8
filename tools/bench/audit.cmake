# The audit micro-benchmark: the cost of AuditTrail::record() on the caller's thread, with the
# real RocksDB audit store behind it. Meant for a Release build:
#   databroker-audit-bench [records per thread] [threads]
# Included by the lead from tools/bench/CMakeLists.txt (paths are relative to this file, so it
# may be included from anywhere).
find_package(Threads REQUIRED)
add_executable(databroker-audit-bench ${CMAKE_CURRENT_LIST_DIR}/audit_bench.cc)
target_compile_options(databroker-audit-bench PRIVATE ${DATABROKER_WARNINGS})
target_link_libraries(databroker-audit-bench PRIVATE databroker::access databroker::log
  Threads::Threads)

# Writes a C++ source defining `std::string_view NAME()` that returns the bytes of INPUT, so a
# document edited as its own file (the OpenAPI description) ships inside the binary.
#   cmake -DINPUT=file -DOUTPUT=file.cc -DNAME=function -DNAMESPACE=ns -P embed_text.cmake
file(READ "${INPUT}" text)
string(FIND "${text}" ")embedded\"" clash)
if(NOT clash EQUAL -1)
  message(FATAL_ERROR "${INPUT} contains the raw-string delimiter )embedded\"")
endif()
file(WRITE "${OUTPUT}.tmp"
  "// Generated from ${INPUT} by embed_text.cmake; edit that file instead.\n"
  "#include <string_view>\n\n"
  "namespace ${NAMESPACE} {\n\n"
  "std::string_view ${NAME}() {\n"
  "  static constexpr std::string_view text = R\"embedded(${text})embedded\";\n"
  "  return text;\n"
  "}\n\n"
  "}  // namespace ${NAMESPACE}\n")
# Only a changed document touches the output, so an unrelated rebuild does not recompile it.
file(COPY_FILE "${OUTPUT}.tmp" "${OUTPUT}" ONLY_IF_DIFFERENT)
file(REMOVE "${OUTPUT}.tmp")

#include "policies/yaml_document.h"

#include <yaml-cpp/eventhandler.h>

#include <sstream>
#include <string>

namespace databroker::policies {

namespace {

// Counts documents and remembers where the second starts; ignores everything else.
class DocumentCounter final : public YAML::EventHandler {
 public:
  void OnDocumentStart(const YAML::Mark& mark) override {
    if (++documents_ == 2) second_ = mark;
  }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t,
                const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}

  int documents() const { return documents_; }
  int second_line() const { return second_.is_null() ? 0 : second_.line + 1; }

 private:
  int documents_ = 0;
  YAML::Mark second_ = YAML::Mark::null_mark();
};

}  // namespace

YamlDocument load_yaml_document(std::string_view text) {
  const std::string document(text);
  std::istringstream in(document);
  YAML::Parser parser(in);
  DocumentCounter counter;
  while (counter.documents() < 2 && parser.HandleNextDocument(counter)) {
  }
  YamlDocument out;
  if (counter.documents() == 0) {
    out.root = YAML::Node(YAML::NodeType::Null);
    return out;
  }
  out.second_document_line = counter.documents() > 1 ? counter.second_line() : 0;
  out.root = YAML::Load(document);
  return out;
}

}  // namespace databroker::policies

#include "broker/access/key_store.h"

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/fake_clock.h"
#include "tests/support/processes.h"
#include "tests/support/temp_dir.h"

namespace databroker::access {
namespace {

using testing::FakeClock;
using testing::TempDir;

std::unique_ptr<KeyStore> open_store(const std::string& path, const core::Clock& clock) {
  auto store = KeyStore::open(path, clock);
  REQUIRE(store);
  return std::move(*store);
}

CreatedKey create_key(KeyStore& store, std::string_view profile = "partner",
                      std::string_view label = "") {
  auto created = store.create(profile, label);
  REQUIRE(created);
  return std::move(*created);
}

unsigned mode_of(const std::string& path) {
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

TEST_CASE("a missing key file is an empty store until the first key is created",
          "[access][key_store]") {
  TempDir dir;
  FakeClock clock;
  const std::string path = dir.file("keys.json");
  auto store = open_store(path, clock);
  auto listed = store->list();
  REQUIRE(listed);
  CHECK(listed->empty());
  CHECK_FALSE(std::filesystem::exists(path));

  create_key(*store);
  CHECK(std::filesystem::exists(path));
}

TEST_CASE("the key file is created in a missing data directory", "[access][key_store]") {
  TempDir dir;
  FakeClock clock;
  const std::string path = dir.file("data/sub/keys.json");
  auto store = open_store(path, clock);
  auto created = create_key(*store);
  CHECK(store->authenticate(created.key));
}

TEST_CASE("a created key authenticates as its record", "[access][key_store]") {
  TempDir dir;
  FakeClock clock(1'800'000'000'000);
  auto store = open_store(dir.file("keys.json"), clock);
  auto created = create_key(*store, "mobility-partner", "Université de Gand — circulation plan");

  CHECK(created.record.profile == "mobility-partner");
  CHECK(created.record.label == "Université de Gand — circulation plan");
  CHECK(created.record.created_at == 1'800'000'000'000);
  CHECK_FALSE(created.record.is_revoked());
  CHECK(created.record.hash_hex.empty());
  CHECK(key_id_of(created.key) == std::optional<std::string_view>(created.record.id));

  auto record = store->authenticate(created.key);
  REQUIRE(record);
  CHECK(record->id == created.record.id);
  CHECK(record->profile == "mobility-partner");
  CHECK(record->hash_hex.empty());
}

TEST_CASE("keys survive reopening the store", "[access][key_store]") {
  TempDir dir;
  FakeClock clock;
  const std::string path = dir.file("keys.json");
  std::string key;
  {
    auto store = open_store(path, clock);
    key = create_key(*store).key;
  }
  auto reopened = open_store(path, clock);
  CHECK(reopened->authenticate(key));
  auto listed = reopened->list();
  REQUIRE(listed);
  CHECK(listed->size() == 1);
}

TEST_CASE("wrong, garbled, truncated and empty keys are rejected", "[access][key_store]") {
  TempDir dir;
  FakeClock clock;
  auto store = open_store(dir.file("keys.json"), clock);
  const std::string key = create_key(*store).key;
  auto other = generate_key();
  REQUIRE(other);

  std::string flipped_secret = key;
  flipped_secret.back() = flipped_secret.back() == 'a' ? 'b' : 'a';
  // A well-formed key with a known id and someone else's secret.
  const std::string known_id_wrong_secret = key.substr(0, 17) + other->key.substr(17);
  for (const std::string& bad : std::vector<std::string>{
           std::string(), std::string("dbk_"), std::string("Bearer ") + key, key + " ", " " + key,
           key.substr(0, key.size() - 1), key + "a", flipped_secret, known_id_wrong_secret,
           other->key, key.substr(0, 30) + std::string(1, '\0') + key.substr(31),
           std::string(kKeyLength, '\xff'), std::string(1 << 20, 'a'), sha256_hex(key)}) {
    CAPTURE(bad.substr(0, 80));
    CHECK_FALSE(store->authenticate(bad));
  }
  CHECK(store->authenticate(key));
}

TEST_CASE("every single-character change of a key is rejected", "[access][key_store][random]") {
  TempDir dir;
  FakeClock clock;
  auto store = open_store(dir.file("keys.json"), clock);
  const std::string key = create_key(*store).key;
  std::mt19937 random(7);
  const std::string alphabet = "abcdefghijklmnopqrstuvwxyz234567_ABC019\xff";
  for (std::size_t position = 0; position < key.size(); ++position) {
    for (int attempt = 0; attempt < 8; ++attempt) {
      std::string changed = key;
      char replacement = alphabet[random() % alphabet.size()];
      if (replacement == key[position]) {
        continue;
      }
      changed[position] = replacement;
      CAPTURE(changed);
      CHECK_FALSE(store->authenticate(changed));
    }
  }
  for (int round = 0; round < 500; ++round) {
    std::string garbage(random() % 100, '\0');
    for (char& c : garbage) {
      c = static_cast<char>(random() % 256);
    }
    CHECK_FALSE(store->authenticate(garbage));
  }
}

TEST_CASE("a revoked key is rejected at once", "[access][key_store]") {
  TempDir dir;
  FakeClock clock(1'800'000'000'000);
  auto store = open_store(dir.file("keys.json"), clock);
  auto revoked = create_key(*store);
  auto kept = create_key(*store);
  REQUIRE(store->authenticate(revoked.key));

  clock.advance(5'000);
  REQUIRE(store->revoke(revoked.record.id));
  CHECK_FALSE(store->authenticate(revoked.key));
  CHECK(store->authenticate(kept.key));

  auto listed = store->list();
  REQUIRE(listed);
  REQUIRE(listed->size() == 2);
  CHECK((*listed)[0].id == revoked.record.id);
  CHECK((*listed)[0].revoked_at == std::optional<core::TimestampMs>(1'800'000'005'000));
}

TEST_CASE("revoking twice keeps the first revocation time", "[access][key_store]") {
  TempDir dir;
  FakeClock clock(1'800'000'000'000);
  auto store = open_store(dir.file("keys.json"), clock);
  auto created = create_key(*store);
  REQUIRE(store->revoke(created.record.id));
  clock.advance(60'000);
  REQUIRE(store->revoke(created.record.id));
  auto listed = store->list();
  REQUIRE(listed);
  CHECK(listed->at(0).revoked_at == std::optional<core::TimestampMs>(1'800'000'000'000));
}

TEST_CASE("revoking an unknown key is not found", "[access][key_store]") {
  TempDir dir;
  FakeClock clock;
  auto store = open_store(dir.file("keys.json"), clock);
  create_key(*store);
  for (std::string_view id : {"abcdefghijkl", "", "../../etc", "ABCDEFGHIJKL"}) {
    auto revoked = store->revoke(id);
    REQUIRE_FALSE(revoked);
    CHECK(revoked.error().code == core::ErrorCode::NotFound);
  }
}

TEST_CASE("a revocation by a second store on the same file holds on the next authenticate",
          "[access][key_store]") {
  TempDir dir;
  FakeClock clock;
  const std::string path = dir.file("keys.json");
  auto server = open_store(path, clock);
  auto created = create_key(*server);
  REQUIRE(server->authenticate(created.key));

  // Another store on the same file, as `databroker keys revoke` opens it.
  auto cli = open_store(path, clock);
  REQUIRE(cli->revoke(created.record.id));
  CHECK_FALSE(server->authenticate(created.key));
}

TEST_CASE("a key created by a second store authenticates without reopening",
          "[access][key_store]") {
  TempDir dir;
  FakeClock clock;
  const std::string path = dir.file("keys.json");
  auto server = open_store(path, clock);
  auto first = create_key(*server);
  REQUIRE(server->authenticate(first.key));

  auto cli = open_store(path, clock);
  auto second = create_key(*cli);
  CHECK(server->authenticate(second.key));
  CHECK(server->authenticate(first.key));
  auto listed = server->list();
  REQUIRE(listed);
  CHECK(listed->size() == 2);
}

TEST_CASE("a revocation from another process holds on the next authenticate",
          "[access][key_store]") {
  TempDir dir;
  FakeClock clock;
  const std::string path = dir.file("keys.json");
  auto server = open_store(path, clock);
  auto created = create_key(*server);
  REQUIRE(server->authenticate(created.key));

  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    // No Catch2 in the child: report through the exit status only.
    FakeClock child_clock;
    auto cli = KeyStore::open(path, child_clock);
    const bool revoked = cli && (*cli)->revoke(created.record.id).has_value();
    ::_exit(revoked ? 0 : 1);
  }
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 0);
  CHECK_FALSE(server->authenticate(created.key));
}

TEST_CASE("concurrent creators on one file lose no key", "[access][key_store]") {
  TempDir dir;
  FakeClock clock;
  const std::string path = dir.file("keys.json");
  auto a = open_store(path, clock);
  auto b = open_store(path, clock);
  constexpr std::size_t kPerThread = 8;
  std::vector<std::string> keys_a, keys_b;
  std::thread writer_a([&] {
    for (std::size_t i = 0; i < kPerThread; ++i) {
      if (auto created = a->create("partner", "a")) {
        keys_a.push_back(created->key);
      }
    }
  });
  std::thread writer_b([&] {
    for (std::size_t i = 0; i < kPerThread; ++i) {
      if (auto created = b->create("partner", "b")) {
        keys_b.push_back(created->key);
      }
    }
  });
  writer_a.join();
  writer_b.join();
  REQUIRE(keys_a.size() == kPerThread);
  REQUIRE(keys_b.size() == kPerThread);
  auto listed = a->list();
  REQUIRE(listed);
  CHECK(listed->size() == 2 * kPerThread);
  for (const auto& key : keys_a) {
    CHECK(b->authenticate(key));
  }
  for (const auto& key : keys_b) {
    CHECK(a->authenticate(key));
  }
}

TEST_CASE("list never exposes hashes and the file never holds keys", "[access][key_store]") {
  TempDir dir;
  FakeClock clock;
  const std::string path = dir.file("keys.json");
  auto store = open_store(path, clock);
  auto first = create_key(*store, "partner", "first");
  clock.advance(1);
  auto second = create_key(*store, "ops", "second");
  REQUIRE(store->revoke(second.record.id));

  auto listed = store->list();
  REQUIRE(listed);
  REQUIRE(listed->size() == 2);
  CHECK((*listed)[0].id == first.record.id);
  CHECK((*listed)[1].id == second.record.id);
  for (const auto& record : *listed) {
    CHECK(record.hash_hex.empty());
  }

  const std::string content = testing::read_file(path);
  CHECK(content.find(first.key) == std::string::npos);
  CHECK(content.find(first.key.substr(17)) == std::string::npos);
  CHECK(content.find(sha256_hex(first.key)) != std::string::npos);
  CHECK(content.find("\"version\"") != std::string::npos);
}

TEST_CASE("the key file and its lock file are readable by the owner only", "[access][key_store]") {
  TempDir dir;
  FakeClock clock;
  const std::string path = dir.file("keys.json");
  const mode_t previous = ::umask(0);
  auto store = open_store(path, clock);
  auto created = create_key(*store);
  REQUIRE(store->revoke(created.record.id));
  ::umask(previous);
  CHECK(mode_of(path) == 0600);
  CHECK(mode_of(path + ".lock") == 0600);
  // Only the key file and its lock: no temporary file is left behind.
  CHECK(std::distance(std::filesystem::directory_iterator(dir.path()),
                      std::filesystem::directory_iterator()) == 2);
}

TEST_CASE("a corrupt key file is an error naming the file, never an empty store",
          "[access][key_store]") {
  TempDir dir;
  FakeClock clock;
  const std::string path = dir.file("keys.json");
  const std::string hash = sha256_hex("x");
  const std::string record =
      R"({"id":"abcdefghijkl","profile":"ops","label":"","created_at":1,"sha256":")" + hash +
      R"("})";
  std::string duplicated = "{\"version\":1,\"keys\":[";
  duplicated.append(record).append(",").append(record).append("]}");
  for (
      const std::string& content : std::vector<std::string>{
          std::string(), std::string("not json"), std::string("{\"version\":1,\"keys\":["),
          std::string("[]"), std::string("{\"keys\":[]}"),
          std::string("{\"version\":2,\"keys\":[]}"), std::string("{\"version\":1}"),
          std::string("{\"version\":1,\"keys\":{}}"), std::string("{\"version\":1,\"keys\":[1]}"),
          duplicated,
          R"({"version":1,"keys":[{"id":"short","profile":"ops","created_at":1,"sha256":")" + hash +
              R"("}]})",
          R"({"version":1,"keys":[{"id":"abcdefghijkl","profile":"ops","created_at":1,"sha256":"xyz"}]})",
          R"({"version":1,"keys":[{"id":"abcdefghijkl","profile":"ops","created_at":"1","sha256":")" +
              hash + R"("}]})",
          R"({"version":1,"keys":[{"id":"abcdefghijkl","profile":"bad name","created_at":1,"sha256":")" +
              hash + R"("}]})",
          std::string("{\"version\":1,\"keys\":[]}\xff")}) {
    CAPTURE(content);
    testing::write_file(path, content);
    auto store = KeyStore::open(path, clock);
    REQUIRE_FALSE(store);
    CHECK(store.error().code == core::ErrorCode::Corruption);
    CHECK(store.error().message.find(path) != std::string::npos);
  }
  testing::write_file(path, "{\"version\":1,\"keys\":[" + record + "]}");
  CHECK(KeyStore::open(path, clock));
}

TEST_CASE("a key file corrupted while open fails closed and is not overwritten",
          "[access][key_store]") {
  TempDir dir;
  FakeClock clock;
  const std::string path = dir.file("keys.json");
  auto store = open_store(path, clock);
  auto created = create_key(*store);
  const std::string good = testing::read_file(path);

  testing::write_file(path, "{ this is not a key file");
  CHECK_FALSE(store->authenticate(created.key));
  auto listed = store->list();
  REQUIRE_FALSE(listed);
  CHECK(listed.error().code == core::ErrorCode::Corruption);
  auto more = store->create("partner", "");
  REQUIRE_FALSE(more);
  CHECK(more.error().code == core::ErrorCode::Corruption);
  CHECK_FALSE(store->revoke(created.record.id));
  CHECK(testing::read_file(path) == "{ this is not a key file");

  // Repaired by hand (a new write, so a new identity): keys work again.
  testing::write_file(path, good);
  CHECK(store->authenticate(created.key));
}

TEST_CASE("a deleted key file empties the store", "[access][key_store]") {
  TempDir dir;
  FakeClock clock;
  const std::string path = dir.file("keys.json");
  auto store = open_store(path, clock);
  auto created = create_key(*store);
  std::filesystem::remove(path);
  CHECK_FALSE(store->authenticate(created.key));
  auto listed = store->list();
  REQUIRE(listed);
  CHECK(listed->empty());
}

TEST_CASE("labels and profile names are validated on create", "[access][key_store]") {
  TempDir dir;
  FakeClock clock;
  auto store = open_store(dir.file("keys.json"), clock);
  CHECK(store->create("partner", std::string(200, 'x')));
  CHECK(store->create("partner", "Gent — Stad"));
  for (const std::string& label : std::vector<std::string>{
           std::string(201, 'x'), std::string("line\nbreak"), std::string("tab\there"),
           std::string("nul\0byte", 8), std::string("\xff\xfe"), std::string("\xc3"),
           std::string("\xc0\xaf"),
           std::string("evil\xe2\x80\xae"
                       "cod.exe")}) {
    CAPTURE(label);
    auto created = store->create("partner", label);
    REQUIRE_FALSE(created);
    CHECK(created.error().code == core::ErrorCode::InvalidArgument);
  }
  for (const std::string& profile :
       std::vector<std::string>{std::string(), std::string("bad name"), std::string(65, 'p')}) {
    auto created = store->create(profile, "");
    REQUIRE_FALSE(created);
    CHECK(created.error().code == core::ErrorCode::InvalidArgument);
  }
  auto listed = store->list();
  REQUIRE(listed);
  CHECK(listed->size() == 2);
}

}  // namespace
}  // namespace databroker::access

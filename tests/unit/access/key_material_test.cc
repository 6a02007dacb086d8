#include <algorithm>
#include <catch2/catch.hpp>
#include <cctype>
#include <set>
#include <string>

#include "broker/access/key_store.h"

namespace databroker::access {
namespace {

bool is_base32(const std::string& text) {
  return std::all_of(text.begin(), text.end(),
                     [](char c) { return (c >= 'a' && c <= 'z') || (c >= '2' && c <= '7'); });
}

TEST_CASE("a generated key reads dbk_<12 base32 id>_<32 base32 secret>", "[access][keys]") {
  auto material = generate_key();
  REQUIRE(material);
  const std::string& key = material->key;
  CHECK(key.size() == kKeyLength);
  CHECK(kKeyLength == 49);
  CHECK(key.substr(0, 4) == "dbk_");
  CHECK(key.substr(4, 12) == material->id);
  CHECK(key[16] == '_');
  CHECK(is_base32(material->id));
  CHECK(material->id.size() == 12);
  CHECK(is_base32(key.substr(17)));
  CHECK(key.substr(17).size() == 32);
  REQUIRE(key_id_of(key));
  CHECK(*key_id_of(key) == material->id);
}

TEST_CASE("a thousand generated keys are all distinct", "[access][keys]") {
  std::set<std::string> ids;
  std::set<std::string> secrets;
  std::set<char> secret_chars;
  for (int i = 0; i < 1000; ++i) {
    auto material = generate_key();
    REQUIRE(material);
    REQUIRE(material->key.size() == kKeyLength);
    REQUIRE(is_base32(material->key.substr(4, 12) + material->key.substr(17)));
    ids.insert(material->id);
    secrets.insert(material->key.substr(17));
    for (char c : material->key.substr(17)) {
      secret_chars.insert(c);
    }
  }
  CHECK(ids.size() == 1000);
  CHECK(secrets.size() == 1000);
  // 32,000 draws from 32 symbols: every symbol shows up unless the encoding is broken.
  CHECK(secret_chars.size() == 32);
}

TEST_CASE("the key id is only read from well-formed keys", "[access][keys]") {
  auto material = generate_key();
  REQUIRE(material);
  const std::string key = material->key;
  std::string upper = key;
  std::transform(upper.begin(), upper.end(), upper.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  for (const std::string& bad :
       {std::string(), std::string("dbk_"), key.substr(0, key.size() - 1), key + "a", upper,
        "xbk_" + key.substr(4), key.substr(0, 16) + "-" + key.substr(17),
        key.substr(0, 20) + "1" + key.substr(21), key.substr(0, 5) + "8" + key.substr(6),
        " " + key.substr(1), key.substr(0, 30) + std::string(1, '\0') + key.substr(31)}) {
    CAPTURE(bad);
    CHECK_FALSE(key_id_of(bad));
  }
}

TEST_CASE("hashing is SHA-256 in lowercase hex", "[access][keys]") {
  CHECK(sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  CHECK(sha256_hex(std::string("a\0b", 3)) != sha256_hex("a"));
}

TEST_CASE("constant_time_equal compares contents and lengths", "[access][keys]") {
  CHECK(constant_time_equal("", ""));
  CHECK(constant_time_equal("abc", "abc"));
  CHECK_FALSE(constant_time_equal("abc", "abd"));
  CHECK_FALSE(constant_time_equal("abc", "xbc"));
  CHECK_FALSE(constant_time_equal("abc", "ab"));
  CHECK_FALSE(constant_time_equal("", "a"));
  CHECK(constant_time_equal(std::string("a\0b", 3), std::string("a\0b", 3)));
  CHECK_FALSE(constant_time_equal(std::string("a\0b", 3), std::string("a\0c", 3)));
  const std::string hash = sha256_hex("x");
  CHECK(constant_time_equal(hash, sha256_hex("x")));
  CHECK_FALSE(constant_time_equal(hash, sha256_hex("y")));
}

}  // namespace
}  // namespace databroker::access

#include "broker/access/key_store.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <ctime>
#include <filesystem>
#include <limits>
#include <nlohmann/json.hpp>
#include <system_error>
#include <utility>

#include "broker/access/identity.h"
#include "broker/core/check.h"
#include "broker/core/logging.h"

namespace databroker::access {

namespace {

using core::ErrorCode;
using core::fail;
using Json = nlohmann::json;
using OrderedJson = nlohmann::ordered_json;

constexpr std::string_view kComponent = "access";
constexpr std::string_view kBase32Alphabet = "abcdefghijklmnopqrstuvwxyz234567";
constexpr int kFileVersion = 1;
constexpr std::size_t kMaxLabelChars = 200;
// Far beyond any real key file (a record is ~250 bytes); past it the file is not ours.
constexpr long long kMaxFileBytes = 64LL << 20;
constexpr long long kNanosPerSecond = 1'000'000'000LL;
// A SHA-256 in hex that no key hashes to (finding a preimage of it is infeasible).
constexpr std::string_view kNoKeyHash =
    "0000000000000000000000000000000000000000000000000000000000000000";

std::string errno_text(int err) { return std::error_code(err, std::generic_category()).message(); }

// Closes the descriptor when it goes out of scope; for a lock file, that releases the flock.
class FileDescriptor {
 public:
  explicit FileDescriptor(int fd) : fd_(fd) {}
  FileDescriptor(FileDescriptor&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  FileDescriptor& operator=(FileDescriptor&&) = delete;
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  ~FileDescriptor() {
    if (fd_ >= 0) {
      ::close(fd_);
    }
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

bool is_base32(std::string_view text) {
  return std::all_of(text.begin(), text.end(),
                     [](char c) { return (c >= 'a' && c <= 'z') || (c >= '2' && c <= '7'); });
}

bool is_key_id(std::string_view id) { return id.size() == kKeyIdLength && is_base32(id); }

bool is_sha256_hex(std::string_view text) {
  return text.size() == 64 && std::all_of(text.begin(), text.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

// The first `chars` base32 characters of the bits of `bytes`, most significant bit first.
std::string base32(const unsigned char* bytes, std::size_t size, std::size_t chars) {
  DATABROKER_CHECK(chars * 5 <= size * 8, "not enough random bits for the base32 text");
  std::string out;
  out.reserve(chars);
  std::uint32_t buffer = 0;
  int bits = 0;
  std::size_t next = 0;
  while (out.size() < chars) {
    if (bits < 5) {
      buffer = (buffer << 8) | bytes[next++];
      bits += 8;
    }
    bits -= 5;
    out.push_back(kBase32Alphabet[(buffer >> bits) & 31U]);
  }
  return out;
}

// The number of code points of `text` when it is UTF-8 without control, line-separator or
// bidirectional-formatting characters: a label is shown in terminals and admin pages, where
// such characters could disguise what it says.
std::optional<std::size_t> printable_length(std::string_view text) {
  static constexpr std::uint32_t kMinForLength[] = {0, 0, 0x80, 0x800, 0x10000};
  std::size_t count = 0;
  for (std::size_t i = 0; i < text.size();) {
    const auto lead = static_cast<unsigned char>(text[i]);
    std::uint32_t cp = 0;
    std::size_t length = 0;
    if (lead < 0x80) {
      cp = lead;
      length = 1;
    } else if ((lead & 0xE0) == 0xC0) {
      cp = lead & 0x1FU;
      length = 2;
    } else if ((lead & 0xF0) == 0xE0) {
      cp = lead & 0x0FU;
      length = 3;
    } else if ((lead & 0xF8) == 0xF0) {
      cp = lead & 0x07U;
      length = 4;
    } else {
      return std::nullopt;
    }
    if (length > text.size() - i) {
      return std::nullopt;
    }
    for (std::size_t k = 1; k < length; ++k) {
      const auto continuation = static_cast<unsigned char>(text[i + k]);
      if ((continuation & 0xC0) != 0x80) {
        return std::nullopt;
      }
      cp = (cp << 6) | (continuation & 0x3FU);
    }
    if (cp < kMinForLength[length] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      return std::nullopt;
    }
    if (cp < 0x20 || (cp >= 0x7F && cp <= 0x9F) || (cp >= 0x200B && cp <= 0x200F) ||
        (cp >= 0x2028 && cp <= 0x202E) || (cp >= 0x2060 && cp <= 0x206F) || cp == 0xFEFF) {
      return std::nullopt;
    }
    i += length;
    ++count;
  }
  return count;
}

std::optional<core::TimestampMs> as_timestamp(const Json& value) {
  if (value.is_number_unsigned()) {
    const auto number = value.get<std::uint64_t>();
    if (number > static_cast<std::uint64_t>(std::numeric_limits<core::TimestampMs>::max())) {
      return std::nullopt;
    }
    return static_cast<core::TimestampMs>(number);
  }
  if (value.is_number_integer()) {
    return value.get<core::TimestampMs>();
  }
  return std::nullopt;
}

KeyFileIdentity identity_of(const struct stat& st) {
  return KeyFileIdentity{static_cast<unsigned long long>(st.st_ino),
                         static_cast<unsigned long long>(st.st_size),
                         static_cast<long long>(st.st_mtim.tv_sec) * kNanosPerSecond +
                             static_cast<long long>(st.st_mtim.tv_nsec)};
}

// All zero when the file does not exist.
core::Result<KeyFileIdentity> stat_identity(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    const int err = errno;
    if (err == ENOENT) {
      return KeyFileIdentity{};
    }
    return fail(ErrorCode::Unavailable, "cannot stat key file " + path + ": " + errno_text(err));
  }
  return identity_of(st);
}

core::Result<std::vector<KeyRecord>> parse_key_file(std::string_view text,
                                                    const std::string& path) {
  auto corrupt = [&path](const std::string& why) {
    return fail(ErrorCode::Corruption, "key file " + path + " is not a valid key file: " + why);
  };
  // Every JSON exception is converted here: a hand-edited or truncated file must come back as
  // a message, never as an exception through authenticate().
  try {
    Json doc = Json::parse(text);
    if (!doc.is_object()) {
      return corrupt("the top level is not a JSON object");
    }
    auto version = doc.find("version");
    if (version == doc.end() || !version->is_number_integer()) {
      return corrupt("\"version\" is missing or not an integer");
    }
    if (*version != kFileVersion) {
      return corrupt("it has version " + version->dump() + ", and this databroker reads version " +
                     std::to_string(kFileVersion));
    }
    auto keys = doc.find("keys");
    if (keys == doc.end() || !keys->is_array()) {
      return corrupt("\"keys\" is missing or not an array");
    }
    std::vector<KeyRecord> records;
    records.reserve(keys->size());
    for (std::size_t i = 0; i < keys->size(); ++i) {
      const Json& item = (*keys)[i];
      const std::string where = "keys[" + std::to_string(i) + "]";
      if (!item.is_object()) {
        return corrupt(where + " is not an object");
      }
      auto string_field = [&item](const char* name) -> const std::string* {
        auto it = item.find(name);
        return it != item.end() && it->is_string() ? it->get_ptr<const std::string*>() : nullptr;
      };
      KeyRecord record;
      const std::string* id = string_field("id");
      if (id == nullptr || !is_key_id(*id)) {
        return corrupt(where + ".id is not a key id (12 base32 characters)");
      }
      record.id = *id;
      const std::string* profile = string_field("profile");
      if (profile == nullptr || !is_valid_profile_name(*profile)) {
        return corrupt(where + ".profile is not a profile name");
      }
      record.profile = *profile;
      if (const std::string* label = string_field("label")) {
        record.label = *label;
      } else if (item.contains("label")) {
        return corrupt(where + ".label is not a string");
      }
      auto created_at = item.find("created_at");
      auto created_ms = created_at == item.end() ? std::nullopt : as_timestamp(*created_at);
      if (!created_ms) {
        return corrupt(where + ".created_at is missing or not an integer");
      }
      record.created_at = *created_ms;
      auto revoked_at = item.find("revoked_at");
      if (revoked_at != item.end() && !revoked_at->is_null()) {
        auto revoked_ms = as_timestamp(*revoked_at);
        if (!revoked_ms) {
          return corrupt(where + ".revoked_at is not an integer");
        }
        record.revoked_at = *revoked_ms;
      }
      const std::string* hash = string_field("sha256");
      if (hash == nullptr || !is_sha256_hex(*hash)) {
        return corrupt(where + ".sha256 is not 64 lowercase hex digits");
      }
      record.hash_hex = *hash;
      records.push_back(std::move(record));
    }
    // Two records with one id would make authentication depend on file order.
    std::vector<std::string_view> ids;
    ids.reserve(records.size());
    for (const auto& record : records) {
      ids.push_back(record.id);
    }
    std::sort(ids.begin(), ids.end());
    auto duplicate = std::adjacent_find(ids.begin(), ids.end());
    if (duplicate != ids.end()) {
      return corrupt("the key id " + std::string(*duplicate) + " appears twice");
    }
    return records;
  } catch (const Json::parse_error& e) {
    return corrupt(std::string("not JSON (") + e.what() + ")");
  } catch (const Json::exception& e) {
    return corrupt(e.what());
  }
}

std::string serialise(const std::vector<KeyRecord>& records) {
  OrderedJson keys = OrderedJson::array();
  for (const auto& record : records) {
    OrderedJson item = OrderedJson::object();
    item["id"] = record.id;
    item["profile"] = record.profile;
    item["label"] = record.label;
    item["created_at"] = record.created_at;
    if (record.revoked_at) {
      item["revoked_at"] = *record.revoked_at;
    }
    item["sha256"] = record.hash_hex;
    keys.push_back(std::move(item));
  }
  OrderedJson doc = OrderedJson::object();
  doc["version"] = kFileVersion;
  doc["keys"] = std::move(keys);
  // Labels are validated as UTF-8 on create; `replace` only guards hand-edited records, so
  // that a stray byte cannot make every later write fail.
  return doc.dump(2, ' ', false, OrderedJson::error_handler_t::replace) + "\n";
}

// One read of the key file: the identity of what was read (none when the file could not even
// be opened, so the next check retries) and the records or why they could not be had.
struct KeyFileRead {
  std::optional<KeyFileIdentity> identity;
  core::Result<std::vector<KeyRecord>> records;
};

KeyFileRead read_key_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    if (err == ENOENT) {
      return {KeyFileIdentity{}, std::vector<KeyRecord>{}};
    }
    return {std::nullopt,
            fail(ErrorCode::Unavailable, "cannot open key file " + path + ": " + errno_text(err))};
  }
  FileDescriptor file(fd);
  // The identity comes from the open descriptor, so it names exactly the content read below
  // even when the file is replaced meanwhile.
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    return {std::nullopt, fail(ErrorCode::Unavailable,
                               "cannot stat key file " + path + ": " + errno_text(errno))};
  }
  const KeyFileIdentity identity = identity_of(st);
  if (!S_ISREG(st.st_mode)) {
    return {identity, fail(ErrorCode::Corruption, "key file " + path + " is not a regular file")};
  }
  if (st.st_size > kMaxFileBytes) {
    return {identity,
            fail(ErrorCode::Corruption, "key file " + path + " is too large to be a key file (" +
                                            std::to_string(st.st_size) + " bytes)")};
  }
  std::string text;
  char buffer[16 * 1024];
  while (true) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return {std::nullopt, fail(ErrorCode::Unavailable,
                                 "cannot read key file " + path + ": " + errno_text(errno))};
    }
    if (n == 0) {
      break;
    }
    text.append(buffer, static_cast<std::size_t>(n));
    if (static_cast<long long>(text.size()) > kMaxFileBytes) {
      return {identity,
              fail(ErrorCode::Corruption, "key file " + path + " is too large to be a key file")};
    }
  }
  // We never write an empty file (the rename is atomic), so emptiness means damage, not "no
  // keys"; treating it as empty would silently drop every revocation.
  if (text.empty()) {
    return {identity, fail(ErrorCode::Corruption, "key file " + path + " is empty")};
  }
  return {identity, parse_key_file(text, path)};
}

std::filesystem::path directory_of(const std::string& path) {
  std::filesystem::path dir = std::filesystem::path(path).parent_path();
  return dir.empty() ? std::filesystem::path(".") : dir;
}

// Exclusive flock on `<path>.lock`, held until the returned descriptor closes. A sibling file
// rather than the key file itself, because the key file is replaced by rename on every write.
core::Result<FileDescriptor> lock_key_file(const std::string& path) {
  std::error_code ec;
  std::filesystem::create_directories(directory_of(path), ec);
  if (ec) {
    return fail(ErrorCode::Unavailable,
                "cannot create the directory of key file " + path + ": " + ec.message());
  }
  const std::string lock_path = path + ".lock";
  const int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    return fail(ErrorCode::Unavailable,
                "cannot open lock file " + lock_path + ": " + errno_text(errno));
  }
  FileDescriptor lock(fd);
  while (::flock(fd, LOCK_EX) != 0) {
    if (errno != EINTR) {
      return fail(ErrorCode::Unavailable, "cannot lock " + lock_path + ": " + errno_text(errno));
    }
  }
  return lock;
}

core::Status write_all(int fd, std::string_view content, const std::string& what) {
  while (!content.empty()) {
    const ssize_t n = ::write(fd, content.data(), content.size());
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return fail(ErrorCode::Unavailable, "cannot write " + what + ": " + errno_text(errno));
    }
    content.remove_prefix(static_cast<std::size_t>(n));
  }
  return core::ok();
}

// Replaces the key file with `content` atomically and durably; returns the new identity. The
// caller holds the lock file. The mtime is set past `previous_mtime_ns` so that every write
// changes the identity, even within one tick of a coarse filesystem clock and on inode reuse.
core::Result<KeyFileIdentity> write_key_file(const std::string& path, std::string_view content,
                                             long long previous_mtime_ns) {
  std::string temp_path = path + ".tmp.XXXXXX";
  const int fd = ::mkostemp(temp_path.data(), O_CLOEXEC);
  if (fd < 0) {
    return fail(ErrorCode::Unavailable, "cannot create a temporary file beside key file " + path +
                                            ": " + errno_text(errno));
  }
  bool renamed = false;
  struct RemoveUnlessRenamed {
    const std::string& temp;
    const bool& renamed;
    ~RemoveUnlessRenamed() {
      if (!renamed) {
        ::unlink(temp.c_str());
      }
    }
  } remove_temp{temp_path, renamed};
  FileDescriptor file(fd);

  if (::fchmod(fd, 0600) != 0) {
    return fail(ErrorCode::Unavailable,
                "cannot set the mode of " + temp_path + ": " + errno_text(errno));
  }
  if (auto written = write_all(fd, content, temp_path); !written) {
    return tl::unexpected(written.error());
  }
  struct timespec now {};
  ::clock_gettime(CLOCK_REALTIME, &now);
  const long long now_ns = static_cast<long long>(now.tv_sec) * kNanosPerSecond + now.tv_nsec;
  const long long mtime_ns = std::max(now_ns, previous_mtime_ns + 1);
  const struct timespec times[2] = {{0, UTIME_OMIT},
                                    {static_cast<time_t>(mtime_ns / kNanosPerSecond),
                                     static_cast<long>(mtime_ns % kNanosPerSecond)}};
  if (::futimens(fd, times) != 0) {
    return fail(ErrorCode::Unavailable,
                "cannot set the time of " + temp_path + ": " + errno_text(errno));
  }
  if (::fsync(fd) != 0) {
    return fail(ErrorCode::Unavailable, "cannot sync " + temp_path + ": " + errno_text(errno));
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    return fail(ErrorCode::Unavailable, "cannot stat " + temp_path + ": " + errno_text(errno));
  }
  if (::rename(temp_path.c_str(), path.c_str()) != 0) {
    return fail(ErrorCode::Unavailable,
                "cannot rename " + temp_path + " to " + path + ": " + errno_text(errno));
  }
  renamed = true;
  // Without syncing the directory, the rename itself could be lost in a power cut and the old
  // file (with a since-revoked key) come back.
  const std::string dir = directory_of(path).string();
  const int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd < 0) {
    return fail(ErrorCode::Unavailable, "cannot open directory " + dir + ": " + errno_text(errno));
  }
  FileDescriptor directory(dir_fd);
  if (::fsync(dir_fd) != 0) {
    return fail(ErrorCode::Unavailable, "cannot sync directory " + dir + ": " + errno_text(errno));
  }
  return identity_of(st);
}

}  // namespace

core::Result<KeyMaterial> generate_key() {
  unsigned char random[8 + 20];  // 60 bits of id (of 64 drawn), 160 bits of secret
  if (RAND_bytes(random, sizeof random) != 1) {
    return fail(ErrorCode::Unavailable, "the random number generator failed");
  }
  KeyMaterial material;
  material.id = base32(random, 8, kKeyIdLength);
  const std::string secret = base32(random + 8, 20, kKeySecretLength);
  OPENSSL_cleanse(random, sizeof random);
  material.key.reserve(kKeyLength);
  material.key.append(kKeyPrefix).append(material.id).append("_").append(secret);
  return material;
}

std::optional<std::string_view> key_id_of(std::string_view presented) {
  if (presented.size() != kKeyLength || presented.substr(0, kKeyPrefix.size()) != kKeyPrefix ||
      presented[kKeyPrefix.size() + kKeyIdLength] != '_') {
    return std::nullopt;
  }
  const std::string_view id = presented.substr(kKeyPrefix.size(), kKeyIdLength);
  const std::string_view secret = presented.substr(kKeyPrefix.size() + kKeyIdLength + 1);
  if (!is_base32(id) || !is_base32(secret)) {
    return std::nullopt;
  }
  return id;
}

std::string sha256_hex(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  DATABROKER_CHECK(
      EVP_Digest(data.data(), data.size(), digest, &length, EVP_sha256(), nullptr) == 1,
      "SHA-256 failed");
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(std::size_t{length} * 2);
  for (unsigned int i = 0; i < length; ++i) {
    hex.push_back(kHex[digest[i] >> 4]);
    hex.push_back(kHex[digest[i] & 0x0F]);
  }
  return hex;
}

bool constant_time_equal(std::string_view a, std::string_view b) {
  // Lengths are not secret here (hashes have one length); only the contents are.
  if (a.size() != b.size()) {
    return false;
  }
  return a.empty() || CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

core::Result<std::unique_ptr<KeyStore>> KeyStore::open(std::string path, const core::Clock& clock) {
  std::unique_ptr<KeyStore> store(new KeyStore(std::move(path), clock));
  {
    std::unique_lock lock(store->mutex_);
    if (auto loaded = store->load_locked(); !loaded) {
      return tl::unexpected(loaded.error());
    }
  }
  return store;
}

core::Status KeyStore::load_locked() {
  KeyFileRead read = read_key_file(path_);
  file_identity_ = read.identity;
  if (!read.records) {
    records_.clear();
    load_error_ = read.records.error();
    return tl::unexpected(*load_error_);
  }
  records_ = std::move(*read.records);
  load_error_.reset();
  return core::ok();
}

core::Status KeyStore::reload_if_changed() {
  const core::Result<KeyFileIdentity> current = stat_identity(path_);
  auto in_force = [&]() -> core::Status {
    if (load_error_) {
      return tl::unexpected(*load_error_);
    }
    return core::ok();
  };
  {
    std::shared_lock lock(mutex_);
    if (current && file_identity_ && *current == *file_identity_) {
      return in_force();
    }
  }
  std::unique_lock lock(mutex_);
  // Another thread may have reloaded while this one waited for the exclusive lock.
  if (current && file_identity_ && *current == *file_identity_) {
    return in_force();
  }
  const std::optional<std::string> previous_error =
      load_error_ ? std::optional<std::string>(load_error_->message) : std::nullopt;
  core::Status loaded = load_locked();
  // One line per new problem, not per request: a broken file would otherwise flood the log.
  if (!loaded && loaded.error().message != previous_error) {
    core::log_error(kComponent,
                    loaded.error().message + "; every API key is refused until it is fixed");
  } else if (loaded && previous_error) {
    core::log_info(kComponent, "key file " + path_ + " is readable again");
  }
  return loaded;
}

template <class Mutate>
core::Status KeyStore::modify(Mutate&& mutate) {
  auto lock = lock_key_file(path_);
  if (!lock) {
    return tl::unexpected(lock.error());
  }
  // Read afresh under the lock: the cached records may predate another process's write, and
  // writing them back would undo it (a revocation, say).
  KeyFileRead read = read_key_file(path_);
  if (!read.records) {
    return tl::unexpected(read.records.error());
  }
  std::vector<KeyRecord> records = std::move(*read.records);
  core::Result<bool> changed = mutate(records);
  if (!changed) {
    return tl::unexpected(changed.error());
  }
  std::optional<KeyFileIdentity> identity = read.identity;
  if (*changed) {
    const long long previous_mtime_ns = read.identity ? read.identity->mtime_ns : 0;
    auto written = write_key_file(path_, serialise(records), previous_mtime_ns);
    if (!written) {
      return tl::unexpected(written.error());
    }
    identity = *written;
  }
  std::unique_lock guard(mutex_);
  records_ = std::move(records);
  file_identity_ = identity;
  load_error_.reset();
  return core::ok();
}

core::Result<CreatedKey> KeyStore::create(std::string_view profile, std::string_view label) {
  if (!is_valid_profile_name(profile)) {
    return fail(ErrorCode::InvalidArgument, "invalid profile name",
                {{"profile", "invalid_name",
                  "a profile name is 1 to 64 characters of A-Z, a-z, 0-9, '_' and '-'"}});
  }
  const auto label_length = printable_length(label);
  if (!label_length || *label_length > kMaxLabelChars) {
    return fail(
        ErrorCode::InvalidArgument, "invalid label",
        {{"label", "invalid_label", "a label is up to 200 printable characters of UTF-8 text"}});
  }
  CreatedKey created;
  core::Status status = modify([&](std::vector<KeyRecord>& records) -> core::Result<bool> {
    // 60 random bits make a collision between ids vanishingly rare; a few draws settle it.
    for (int attempt = 0; attempt < 8; ++attempt) {
      auto material = generate_key();
      if (!material) {
        return tl::unexpected(material.error());
      }
      const bool taken = std::any_of(records.begin(), records.end(),
                                     [&](const KeyRecord& r) { return r.id == material->id; });
      if (taken) {
        continue;
      }
      KeyRecord record;
      record.id = material->id;
      record.profile = std::string(profile);
      record.label = std::string(label);
      record.created_at = clock_.now_ms();
      record.hash_hex = sha256_hex(material->key);
      records.push_back(record);
      created.record = std::move(record);
      created.record.hash_hex.clear();
      created.key = std::move(material->key);
      return true;
    }
    return fail(ErrorCode::Internal, "could not draw an unused key id");
  });
  if (!status) {
    return tl::unexpected(status.error());
  }
  core::log_info(kComponent,
                 "created key " + created.record.id + " for profile " + created.record.profile);
  return created;
}

core::Result<std::vector<KeyRecord>> KeyStore::list() {
  if (auto fresh = reload_if_changed(); !fresh) {
    return tl::unexpected(fresh.error());
  }
  std::vector<KeyRecord> out;
  {
    std::shared_lock lock(mutex_);
    out = records_;
  }
  for (auto& record : out) {
    record.hash_hex.clear();
  }
  std::stable_sort(out.begin(), out.end(), [](const KeyRecord& a, const KeyRecord& b) {
    return a.created_at < b.created_at;
  });
  return out;
}

core::Status KeyStore::revoke(std::string_view id) {
  auto not_found = [&] {
    // The id may be anything a caller typed; echo it only when it looks like an id.
    return fail(ErrorCode::NotFound,
                is_key_id(id) ? "no key with id " + std::string(id) : std::string("no such key"));
  };
  if (!is_key_id(id)) {
    return not_found();
  }
  bool revoked_now = false;
  core::Status status = modify([&](std::vector<KeyRecord>& records) -> core::Result<bool> {
    auto it = std::find_if(records.begin(), records.end(),
                           [&](const KeyRecord& r) { return r.id == id; });
    if (it == records.end()) {
      return not_found();
    }
    if (it->is_revoked()) {
      return false;
    }
    it->revoked_at = clock_.now_ms();
    revoked_now = true;
    return true;
  });
  if (status && revoked_now) {
    core::log_info(kComponent, "revoked key " + std::string(id));
  }
  return status;
}

std::optional<KeyRecord> KeyStore::authenticate(std::string_view presented) noexcept {
  const std::optional<std::string_view> id = key_id_of(presented);
  if (!id) {
    return std::nullopt;
  }
  const std::string presented_hash = sha256_hex(presented);
  if (!reload_if_changed()) {
    return std::nullopt;  // fail closed; reload_if_changed logged why
  }
  std::optional<KeyRecord> found;
  {
    std::shared_lock lock(mutex_);
    auto it = std::find_if(records_.begin(), records_.end(),
                           [&](const KeyRecord& r) { return r.id == *id; });
    if (it != records_.end()) {
      found = *it;
    }
  }
  // Compare even when the id is unknown, against a hash no key has, so that the time taken
  // does not tell a known id from an unknown one.
  const bool matches = constant_time_equal(presented_hash, found ? found->hash_hex : kNoKeyHash);
  if (!found || !matches || found->is_revoked()) {
    return std::nullopt;
  }
  found->hash_hex.clear();
  return found;
}

bool KeyStore::is_active(std::string_view id) noexcept {
  if (!reload_if_changed()) {
    return false;  // fail closed, as authenticate() does
  }
  std::shared_lock lock(mutex_);
  return std::any_of(records_.begin(), records_.end(),
                     [&](const KeyRecord& r) { return r.id == id && !r.is_revoked(); });
}

}  // namespace databroker::access

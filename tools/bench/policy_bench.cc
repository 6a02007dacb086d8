// Micro-benchmark of the policy engine: what a decision costs on the read path.
//
// Builds a policy of N rules (default 1,000) and M streams (default 100,000), then measures:
// compiling the document; a decision by rule scan (Policy::decide, the cold path); the first
// decision through a PolicySnapshot (scan plus cache insertion); cached decisions (the hot path,
// one hash lookup under a shared lock), also from two threads at once; and access() for a
// decision (grant and view selection). A quarter of the streams match no rule, so their scan
// runs through every rule: the worst case.
//
//   databroker-policy-bench [--rules N] [--streams M] [--seed S]
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "policies/engine.h"
#include "policies/policy.h"

namespace {

using databroker::policies::Access;
using databroker::policies::Caller;
using databroker::policies::compile_policy;
using databroker::policies::Decision;
using databroker::policies::Policy;
using databroker::policies::PolicySnapshot;
using databroker::policies::StreamFacts;
using Clock = std::chrono::steady_clock;

constexpr const char* kKinds[] = {"air_quality", "noise", "waste_bin", "parking"};
constexpr const char* kClasses[] = {"open", "shared", "closed"};

std::string make_policy(int rules) {
  std::string text = "version: 1\nrules:\n";
  for (int i = 0; i < rules; ++i) {
    const std::string n = std::to_string(i);
    text += "  - name: rule " + n + "\n";
    text += "    match: {kind: " + std::string(kKinds[i % 4]) + ", zone: \"zone-" + n + "-*\"";
    if (i % 5 == 0) {
      text += ", tags: [t" + std::to_string(i % 7) + ", t" + std::to_string((i + 3) % 7) + "]";
    }
    text += "}\n";
    const char* c = kClasses[i % 3];
    text += std::string("    class: ") + c + "\n";
    if (i % 3 == 0) {
      text += "    open_view: {round_location: 3, drop: [rssi, battery]}\n";
    } else if (i % 3 == 1) {
      text += "    grants:\n";
      text +=
          "      - {profile: partner-a, purpose: study, legal_basis: agreement, until: "
          "2027-06-30, view: {drop: [rssi]}}\n";
      text +=
          "      - {profile: partner-b, purpose: study, legal_basis: agreement, from: "
          "2026-01-01, until: 2028-12-31, view: {snap_location_m: 100}}\n";
      text += "    retention: 90d\n";
    }
  }
  return text;
}

std::vector<StreamFacts> make_streams(int count, int rules, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<StreamFacts> streams;
  streams.reserve(static_cast<std::size_t>(count));
  // Zones up to rules * 4 / 3: about a quarter of the streams match no rule's zone.
  const auto zones = static_cast<std::uint64_t>(rules) * 4 / 3 + 1;
  for (int i = 0; i < count; ++i) {
    StreamFacts s;
    s.id = "sensor-" + std::to_string(i);
    const auto zone = rng() % zones;
    s.kind = kKinds[zone % 4];  // the kind of the rule of that zone, so the zone decides
    s.zone = "zone-" + std::to_string(zone) + "-north";
    s.tags = {"t" + std::to_string(rng() % 7)};
    s.owner = "city";
    streams.push_back(std::move(s));
  }
  return streams;
}

double ns_per(Clock::duration d, std::size_t n) {
  return static_cast<double>(std::chrono::duration_cast<std::chrono::nanoseconds>(d).count()) /
         static_cast<double>(n);
}

int arg(int argc, char** argv, std::string_view name, int fallback) {
  for (int i = 1; i + 1 < argc; ++i) {
    if (argv[i] == name) {
      return std::atoi(argv[i + 1]);
    }
  }
  return fallback;
}

}  // namespace

int main(int argc, char** argv) {
  const int rules = arg(argc, argv, "--rules", 1000);
  const int count = arg(argc, argv, "--streams", 100'000);
  const auto seed = static_cast<std::uint64_t>(arg(argc, argv, "--seed", 1));
  if (rules <= 0 || count <= 0) {
    std::fprintf(stderr, "usage: databroker-policy-bench [--rules N] [--streams M] [--seed S]\n");
    return 2;
  }

  const std::string text = make_policy(rules);
  const auto compile_start = Clock::now();
  auto compiled = compile_policy(text, {"partner-a", "partner-b"},
                                 {"air_quality", "noise", "waste_bin", "parking"});
  const auto compile_time = Clock::now() - compile_start;
  if (!compiled) {
    for (const auto& p : compiled.error()) {
      std::fprintf(stderr, "%s\n", p.to_string("generated").c_str());
    }
    return 1;
  }
  const std::shared_ptr<const Policy> policy = *compiled;
  const std::vector<StreamFacts> streams = make_streams(count, rules, seed);
  const auto n = streams.size();
  std::uint64_t checksum = 0;
  auto note = [&](const Decision& d) {
    checksum += d.rule ? static_cast<std::uint64_t>(d.rule - policy->rules().data()) : 7;
  };

  // Cold: a rule scan per decision.
  auto start = Clock::now();
  std::size_t unmatched = 0;
  for (const auto& s : streams) {
    const Decision d = policy->decide(s);
    unmatched += d.rule == nullptr ? 1 : 0;
    note(d);
  }
  const auto cold = Clock::now() - start;

  // Through a snapshot: the first pass fills the cache, later passes hit it.
  PolicySnapshot snapshot(policy, 0, static_cast<std::size_t>(count) + 1);
  start = Clock::now();
  for (const auto& s : streams) {
    note(snapshot.decide(s));
  }
  const auto fill = Clock::now() - start;
  constexpr int kHitPasses = 5;
  start = Clock::now();
  for (int pass = 0; pass < kHitPasses; ++pass) {
    for (const auto& s : streams) {
      note(snapshot.decide(s));
    }
  }
  const auto hits = Clock::now() - start;

  // Two readers at once on the shared lock.
  std::atomic<std::uint64_t> shared_sum{0};
  start = Clock::now();
  {
    std::vector<std::thread> threads;
    for (int t = 0; t < 2; ++t) {
      threads.emplace_back([&] {
        std::uint64_t sum = 0;
        for (int pass = 0; pass < kHitPasses; ++pass) {
          for (const auto& s : streams) {
            sum += snapshot.decide(s).rule != nullptr;
          }
        }
        shared_sum += sum;
      });
    }
    for (auto& t : threads) {
      t.join();
    }
  }
  const auto hits2 = Clock::now() - start;

  // access() for decisions already made: the per-reading cost once the decision is cached.
  std::vector<Decision> decisions;
  decisions.reserve(n);
  for (const auto& s : streams) {
    decisions.push_back(snapshot.decide(s));
  }
  const Caller callers[] = {
      {"public", false}, {"partner-a", false}, {"partner-b", false}, {"dashboard", true}};
  const std::int64_t now = 1'795'860'900'000;  // 2026-11-28
  std::size_t visible = 0;
  start = Clock::now();
  for (const auto& caller : callers) {
    for (const auto& d : decisions) {
      const Access a = policy->access(d, caller, now);
      visible += a.visible ? 1 : 0;
    }
  }
  const auto access_time = Clock::now() - start;

  // The whole per-reading cost: cached decision plus access.
  start = Clock::now();
  for (const auto& s : streams) {
    visible += snapshot.access(s, callers[1], now).visible ? 1 : 0;
  }
  const auto decide_and_access = Clock::now() - start;

  std::printf("policy: %d rules (%zu bytes of YAML), %zu streams, %zu of them matched by no rule\n",
              rules, text.size(), n, unmatched);
  std::printf("compile_policy                          %10.2f ms\n",
              std::chrono::duration<double, std::milli>(compile_time).count());
  std::printf("decide, rule scan (cold)                %10.1f ns/decision\n", ns_per(cold, n));
  std::printf("decide, snapshot first pass (miss)      %10.1f ns/decision\n", ns_per(fill, n));
  std::printf("decide, snapshot cached (hit)           %10.1f ns/decision\n",
              ns_per(hits, n * kHitPasses));
  std::printf(
      "decide, snapshot cached, 2 threads      %10.1f ns/decision (wall, %.1f M/s)\n",
      ns_per(hits2, n * kHitPasses * 2),
      static_cast<double>(n * kHitPasses * 2) / std::chrono::duration<double>(hits2).count() / 1e6);
  std::printf("access, given a decision                %10.1f ns/call\n",
              ns_per(access_time, n * std::size(callers)));
  std::printf("snapshot access (cached decide+access)  %10.1f ns/call\n",
              ns_per(decide_and_access, n));
  std::printf("(checksum %llu, %zu visible, %llu)\n", static_cast<unsigned long long>(checksum),
              visible, static_cast<unsigned long long>(shared_sum.load()));
  return 0;
}

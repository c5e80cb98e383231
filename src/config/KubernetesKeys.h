#pragma once

// The readers of the kubernetes sink's keys (not a public header). Each throws
// core::ConfigError naming the entry's key and the expected form.

#include "LoaderParts.h"

#include <string>
#include <utility>
#include <vector>

namespace rotator::config::detail
{

/// A DNS-1123 label (a namespace): 1 to 63 of `[a-z0-9-]`, starting and ending alphanumeric.
bool isDns1123Label(const std::string& name);
/// A DNS-1123 subdomain (a Secret's or a Deployment's name): at most 253 characters, labels of
/// `[a-z0-9-]` joined by dots, starting and ending alphanumeric.
bool isDns1123Subdomain(const std::string& name);
/// A key of a Secret's `data`: 1 to 253 of `[-._a-zA-Z0-9]`.
bool isSecretDataKey(const std::string& key);

/// `sinks.S.namespace`.
std::string kubernetesNamespace(const Entry& e);
/// `sinks.S.secret`.
std::string kubernetesSecretName(const Entry& e);
/// `sinks.S.keys`: `DATA_KEY=field, ...`, each data key listed once, each field known.
std::vector<std::pair<std::string, std::string>> kubernetesKeys(const Entry& e);
/// `sinks.S.restart`: `deployment/NAME, statefulset/NAME, daemonset/NAME`, each listed once.
std::vector<KubernetesRestartTarget> kubernetesRestart(const Entry& e);

/// The defaults of a kubernetes sink and its required keys, once its keys are read: `prefix`
/// is `sinks.S.`.
void completeKubernetesSink(SinkSettings& sink, const std::string& prefix);

} // namespace rotator::config::detail

// JSON of the BN-fold, CLE and HBA results (schema "quantplay/1", kinds "bn_fold", "cle", "hba"; docs/json-schema.md).
#pragma once

#include <string>

#include "core/quant/passes/bn_fold.h"
#include "core/quant/passes/cle.h"
#include "core/quant/passes/hba.h"

namespace qp {

// `indent` < 0: compact.
std::string bn_fold_json(const BnFoldResult& r, int indent = -1);
std::string cle_json(const CleResult& r, int indent = -1);
std::string hba_json(const HbaResult& r, int indent = -1);

}  // namespace qp

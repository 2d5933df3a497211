#pragma once
// The consumer's own data/dataset.hpp, on its include path before xgrad's. If xgrad's headers
// included "data/dataset.hpp" they would get this file and fail to compile; they include
// <xgrad/data/dataset.hpp>.
namespace consumer {
struct Dataset {
    int rows = 3;
};
}  // namespace consumer

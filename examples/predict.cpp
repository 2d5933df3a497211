// Classifies images with the model that mlp_fashion_mnist saved: the first test images, or the
// images of an IDX file given on the command line.
//
//   predict [--model fashion_mlp.npz] [--hidden 256,256] [--images FILE.idx(.gz)] [--count 5]
#include <cstdio>
#include <xgrad.hpp>

#include "fashion_mlp.hpp"
#include "tutorial.hpp"

using namespace xgrad;

int main(int argc, char** argv) {
    tutorial::Flags flags(argc, argv);
    const std::string model_path = flags.get("model", "fashion_mlp.npz");
    const auto count = static_cast<int64_t>(flags.number("count", 5));
    const std::string hidden = flags.get("hidden", "256,256");
    const std::string images_path = flags.get("images", "");  // empty: the Fashion-MNIST test set
    const std::string data_dir = flags.get("data", data::kFashionMnistDir);
    flags.has("quick");  // accepted (the test suite passes it); changes nothing here
    flags.reject_unknown();
    try {
        example::FashionMlp model(example::parse_sizes(hidden), 0.0);
        data::StandardScaler scaler;
        load_checkpoint(model_path, {.model = &model, .scaler = &scaler});
        model.eval();

        Tensor images, labels;
        if (!images_path.empty()) {
            images = data::read_idx(images_path, kFloat32) / 255.0;
        } else {
            data::ImageSet test = data::load_fashion_mnist(false, data_dir);
            images = test.images;
            labels = test.labels;
        }
        const int64_t n = std::min(count, images.size(0));
        NoGradGuard no_grad;
        const Tensor x = scaler.transform(images.narrow(0, 0, n).reshape({n, 28 * 28}));
        const Tensor probabilities = softmax(model(x), 1);
        const auto& classes = data::fashion_mnist_classes();
        for (int64_t i = 0; i < n; ++i) {
            auto [p, k] = probabilities[i].max(0);
            std::printf("image %lld: %-12s (%.1f%%)", static_cast<long long>(i), classes[k.item<int64_t>()].c_str(),
                        100 * p.item());
            if (labels.defined()) std::printf("   true: %s", classes[labels[i].item<int64_t>()].c_str());
            std::printf("\n");
        }
        return 0;
    } catch (const Error& e) {
        std::fprintf(stderr, "error: %s\n", e.what());
        return 2;
    }
}

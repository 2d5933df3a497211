// Classifies images with the model that mlp_fashion_mnist saved: the first test images, or the
// images of an IDX file given on the command line.
//
//   predict [--model fashion_mlp.npz] [--hidden 256,256] [--images FILE.idx(.gz)] [--count 5]
#include <cstdio>
#include <xgrad/xgrad.hpp>

#include "fashion_mlp.hpp"
#include "tutorial.hpp"

using namespace xgrad;

int main(int argc, char** argv) try {
    std::string model_path = "fashion_mlp.npz", hidden = "256,256", images_path, data_dir = data::kFashionMnistDir;
    int64_t count = 5;
    tutorial::Cli cli("Classify images with the checkpoint mlp_fashion_mnist saves (--quick changes nothing here).");
    cli.option("--model", model_path, "the checkpoint");
    cli.option("--count", count, "images to classify").at_least(1);
    cli.option("--hidden", hidden, "hidden layer sizes the model was trained with");
    cli.option("--images", images_path, "an IDX file of 28x28 images (empty: the Fashion-MNIST test set)");
    cli.option("--data", data_dir, "folder with the Fashion-MNIST IDX files");
    cli.parse(argc, argv);
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
} catch (const std::exception& e) {
    return tutorial::fail(e);
}

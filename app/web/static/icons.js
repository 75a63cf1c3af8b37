// An app icon that cannot load (offline, moved, a host that does not resolve) becomes the app's letter instead of a
// broken image. The <img> says what to become: data-fallback-class and data-letter. Without JavaScript, app.css
// draws the letter over a broken image.

function showLetter(image) {
  const letter = document.createElement("span");
  letter.className = image.dataset.fallbackClass;
  letter.setAttribute("aria-hidden", "true");
  letter.textContent = image.dataset.letter;
  image.replaceWith(letter);
}

export function replaceBrokenIcons(root = document) {
  for (const image of root.querySelectorAll("img[data-fallback-class]")) {
    if (image.complete && image.naturalWidth === 0) showLetter(image);
    else image.addEventListener("error", () => showLetter(image), { once: true });
  }
}

replaceBrokenIcons();

// `cem analyze` lists modules in the order the file system returns them, which differs from
// one checkout to another: sorted by path, the committed manifest is what every build writes.
export default {
  plugins: [
    {
      name: "archipelago-sort-modules",
      packageLinkPhase({ customElementsManifest }) {
        customElementsManifest.modules.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
      }
    }
  ]
}

// #/person/ID (being written)
import { api } from "../api.js";
import { heading, personName } from "../ui.js";

export async function render(root, params) {
  const p = await api("GET", `/people/${encodeURIComponent(params.id)}`);
  heading(root, personName(p.name));
}

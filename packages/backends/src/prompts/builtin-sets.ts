/**
 * Prompt sets written for llem (no third-party text). Lengths vary within each set so batches
 * mix short and long inputs, as real traffic does.
 */

const SHORT_PROMPTS = [
  "What is the boiling point of water at sea level?",
  "Name three primary colours.",
  "Translate 'good morning' into French.",
  "Write a haiku about autumn leaves.",
  "Why is the sky blue?",
  "List four planets of the solar system.",
  "What does a compiler do?",
  "Give a synonym for 'rapid'.",
  "Summarise the plot of a heist film in one sentence.",
  "How many minutes are in a day?",
  "Explain recursion to a child.",
  "What is the capital city of Canada?",
  "Suggest a name for a grey cat.",
  "What is 17 multiplied by 23?",
  "Describe the smell of rain.",
  "Which gas do plants absorb from the air?",
  "Write a limerick about a forgetful robot.",
  "What is the difference between weather and climate?",
  "Give one tip for a job interview.",
  "What year did the first person walk on the Moon?",
  "Define the word 'entropy' in plain words.",
  "Recommend a breakfast that is high in protein.",
  "What is a prime number?",
  "Explain what an API is in two sentences.",
  "Why do cats purr?",
  "Write a short motto for a bicycle shop.",
  "How does a refrigerator keep food cold?",
  "What is the longest river in Africa?",
  "Give an example of a renewable energy source.",
  "What does HTTP stand for?",
  "Describe a sunset over the sea in one line.",
  "How do vaccines train the immune system?",
] as const;

const LONG_PROMPTS = [
  "You are reviewing a proposal to replace the paper forms at a small rural clinic with tablets. The clinic sees around forty patients a day, the internet connection drops several times a week, and two of the four nurses have never used a tablet. The budget covers hardware but not ongoing support. Write a balanced assessment that covers data safety, training, what happens during outages, and whether a phased rollout would reduce risk. End with a clear recommendation.",
  "Here is a description of a bug report: users of a budgeting app say their monthly totals are off by a few cents, but only for months with more than thirty transactions, and only when the currency uses two decimal places. The totals are computed by adding floating-point amounts in a loop and rounding once at the end. Explain the most likely cause, how you would confirm it with a test, and two ways to fix it, with the trade-offs of each.",
  "A city council wants to reduce traffic in its historic centre. Options on the table are a congestion charge, closing three streets to cars on weekends, more frequent buses, and a network of protected bike lanes. Residents worry about deliveries and access for older people; shop owners worry about losing customers. Draft a one-page briefing that compares the options on cost, speed of effect, fairness and political risk.",
  "Explain, step by step, how a hash table works: how keys are turned into positions, what happens when two keys land in the same position, why the table is resized as it fills up, and what the cost of lookups and insertions is on average and in the worst case. Use a small example with five keys to illustrate each step, and mention one situation where a balanced tree would be a better choice.",
  "Write the opening scene of a short story. A lighthouse keeper on a remote island finds a sealed glass bottle on the shore after a storm. Inside is a letter addressed to her, in handwriting she recognises, dated forty years in the future. Describe the island, the weather, her routine and her reaction, and end the scene at the moment she decides whether to open the second envelope tucked inside the first.",
  "A student asks why the seasons happen. Many people believe it is because the Earth is closer to the Sun in summer. Explain why that is not the main reason, what the tilt of the Earth's axis has to do with it, why the two hemispheres have opposite seasons, and how day length and the angle of sunlight combine to change temperatures. Suggest a simple experiment with a torch and a ball that makes the idea visible.",
  "You manage a team of six software engineers. Two of them disagree strongly about whether to rewrite an ageing billing service or keep improving it piece by piece. The service is critical, poorly tested, and written in a language only one person on the team knows well. Describe how you would run a meeting to reach a decision, what evidence you would ask each side to bring, and how you would make sure the person who loses the argument stays engaged.",
  "Compare three ways of storing energy from solar panels for use at night: lithium-ion batteries, pumped hydro storage, and producing hydrogen by electrolysis. For each, discuss round-trip efficiency, cost per unit of energy stored, how long the energy can be kept, the land and materials it needs, and where it makes the most sense. Conclude with which option suits a household, a town, and a national grid.",
  "Describe how bread rises. Start with what yeast is and what it eats, explain how the gas it produces gets trapped by the gluten network in the dough, why kneading matters, what happens to the yeast and the gas in the oven, and why sourdough behaves differently from bread made with commercial yeast. Finish with three common mistakes home bakers make and how to avoid them.",
  "An online shop notices that many customers add items to their cart but never complete the purchase. The checkout has five steps, requires creating an account, shows shipping costs only on the last page, and does not accept one popular payment method. Propose a prioritised list of changes, estimate which would have the biggest effect, and describe how you would measure the effect of each change without fooling yourself.",
  "Summarise the main ideas behind the scientific method for someone who has never studied science. Cover how questions become testable hypotheses, why experiments need controls, why results must be reproducible by others, what peer review does and does not guarantee, and why a single surprising study should rarely change our minds. Use an everyday example, such as testing whether a new fertiliser helps tomatoes grow.",
  "You are planning a four-day walking trip through hilly countryside in early spring for a group of eight adults with mixed fitness. Plan the daily distances, where to stay, what to pack, how to handle bad weather and a possible injury, and how to keep the slower walkers from feeling rushed. Present the plan as a short itinerary followed by a checklist.",
  "Explain what happens, in order, between typing a web address into a browser and seeing the page: name resolution, opening a connection, negotiating encryption, sending the request, the server building a response, and the browser parsing, fetching further resources and drawing the page. For each step, mention one thing that commonly makes it slow and how engineers speed it up.",
  "Write a persuasive letter to a school board arguing that every secondary school should teach basic personal finance: budgeting, interest, loans, saving for retirement and spotting scams. Anticipate two objections the board might raise, such as crowded timetables and a lack of trained teachers, and answer each with a practical proposal.",
  "Describe the water cycle as if you were a single drop of water travelling through it over a year. Start in the ocean, rise as vapour, form part of a cloud, fall as snow on a mountain, melt in spring, flow through a river and a city's water treatment plant, and finally return to the sea. Keep the science accurate while giving the drop a voice and some personality.",
  "A research group measured the energy used by a language model while answering questions and found that longer answers used more energy per question but less energy per word. Explain why that might happen, what fixed costs and per-token costs are involved, how batching many questions together changes the picture, and what the group should report so that other people can compare their numbers fairly.",
] as const;

export const BUILTIN_PROMPT_SETS = {
  short: SHORT_PROMPTS,
  long: LONG_PROMPTS,
  // Alternating short and long: every batch of two or more holds both kinds.
  mixed: SHORT_PROMPTS.flatMap((prompt, index) =>
    index < LONG_PROMPTS.length ? [prompt, LONG_PROMPTS[index] as string] : [prompt],
  ),
} as const satisfies Record<string, readonly string[]>;

export type BuiltinPromptSet = keyof typeof BUILTIN_PROMPT_SETS;
